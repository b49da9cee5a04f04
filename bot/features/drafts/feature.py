"""The draft-review feature: `/review`, plain drafts in a DM, "review as…" buttons, /history.

Drafts are reviewed and forgotten, unless their author turned history on (/history on):
then the text, score and the principles missed are kept until they turn it off.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace

from netcoach.bot.clock import Clock
from netcoach.bot.kernel import (
    Action,
    Button,
    Command,
    Feature,
    Param,
    ParamValue,
    Reply,
    Request,
    Segment,
    UserRef,
    answer_privately,
    bold,
    choices,
    code,
)
from netcoach.bot.review import CONTEXTS, Finding, PlaybookSet, Review, ReviewError, review
from netcoach.bot.storage import Users
from netcoach.bot.timeparse import plural

from .grammar import CONTEXT_ALIASES, DEFAULT_MAX_CHARS, clean_draft, short_reply, split_review
from .render import CONTEXT_LABELS, format_review
from .repository import HistoryRepository

REVIEW_PARAMS = (
    Param(
        "context",
        "what the draft is for (default: a first message)",
        choices=tuple((c, CONTEXT_LABELS[c]) for c in CONTEXTS),
    ),
    Param("draft", "the message you are about to send", required=True, kind="paragraph"),
    Param("recipient", "whom it is for (one of your contacts), to name a bond you share"),
    Param("member", "or the member here it is for", kind="member"),
)
HISTORY_SHOWN = 10
# Another feature's extra finding for a draft with a known recipient (a bond left out).
RecipientFinding = Callable[[Request, Review], Awaitable[Finding | None]]

_say = answer_privately


async def review_grammar(req: Request) -> dict[str, ParamValue]:
    """ "[context] [to <who>:] <draft>" typed after /review."""
    context, who, draft = split_review(req.text)
    params: dict[str, ParamValue] = {"draft": draft}
    if context:
        params["context"] = context
    if who:
        params["recipient"] = who
    return params


class DraftReview(Feature):
    """Reviews drafts; `max_chars` guards against pasted novels."""

    def __init__(
        self,
        playbooks: PlaybookSet,
        history: HistoryRepository,
        users: Users,
        clock: Clock,
        *,
        max_chars: int = DEFAULT_MAX_CHARS,
        recipient_finding: RecipientFinding | None = None,
    ):
        self.playbooks = playbooks
        self.history = history
        self.users = users
        self.clock = clock
        self.max_chars = max_chars
        self.recipient_finding = recipient_finding
        self.titles = {p.id: p.title for p in playbooks}
        self._keepers: set[tuple[str, str]] | None = None  # users who keep draft history

    def commands(self) -> Sequence[Command]:
        return (
            Command(
                "review",
                "[context] [to <who>:] <draft>",
                "review a draft (contexts: dm, intro, follow-up, introduction)",
                "review intro Hi all, I'm Ana, a nurse in Porto who bakes bread…",
                self.on_review,
                params=REVIEW_PARAMS,
                grammar=review_grammar,
            ),
            Command(
                "history",
                "[on | off]",
                "keep your reviewed drafts (off by default) and see your progress",
                "history on",
                self.cmd_history,
                params=(
                    Param(
                        "setting", "on: keep them; off: delete them", choices=choices("on", "off")
                    ),
                ),
            ),
        )

    def actions(self) -> Sequence[Action]:
        return (Action("rr", self.on_rereview),)

    async def forgotten(self, user: UserRef) -> None:
        if self._keepers is not None:
            self._keepers.discard((user.platform, user.id))

    # -- reviews ---------------------------------------------------------------------------

    async def on_review(self, req: Request) -> list[Reply]:
        text = clean_draft(req.arg("draft"))
        if not text:  # "/review" or "/review intro" with nothing after it
            return _say(
                req,
                "Put the draft after the command: ",
                code("/review [dm|intro|follow-up|introduction] your message"),
                ", or just send me the message itself.",
            )
        if (answer := short_reply(text)) is not None:
            return _say(req, *answer)
        context = CONTEXT_ALIASES.get(req.arg("context").lower(), req.arg("context").lower())
        return [await self.respond(req, text, context or "dm")]

    async def on_rereview(self, req: Request) -> list[Reply]:
        """Button "rr:<context>": the adapter passes the draft it read back (or kept)."""
        context = req.text.partition(":")[2]
        draft = req.arg("draft")
        if not draft:
            return _say(
                req,
                "I no longer have that draft (I don't keep drafts). Send it again, or use ",
                code(f"/review {context} <draft>"),
                ".",
            )
        return [replace(await self.respond(req, draft, context), edit_pressed=True)]

    async def respond(self, req: Request, text: str, context: str) -> Reply:
        """The review of `text` as a Reply, or a friendly explanation of why not."""
        text = clean_draft(text)
        if len(text) > self.max_chars:
            advice = (
                " — first messages work best under 1,000 characters."
                if self.max_chars > 1000
                else "."
            )
            return Reply.of(
                req.place,
                f"That draft is {len(text):,} characters; I review up to {self.max_chars:,}. "
                f"Send a shorter draft{advice}",
                private=True,
            )
        try:
            result = review(text, context, self.playbooks)
        except ReviewError as exc:
            return Reply.of(req.place, str(exc), private=True)
        if self.recipient_finding is not None:
            extra = await self.recipient_finding(req, result)
            if extra is not None:
                result = _with_recipient_finding(result, extra, text)
        await self.record(req, text, result)
        others = [c for c in CONTEXTS if c != context]
        buttons = tuple(Button(f"Review as {CONTEXT_LABELS[c]}", f"rr:{c}") for c in others)
        return Reply(
            req.place,
            format_review(result, text),
            buttons,
            private=True,
            replaces_trigger=True,
            draft=text,
            kind="review",
        )

    # -- history -------------------------------------------------------------------------

    async def record(self, req: Request, text: str, result: Review) -> None:
        """Keep a reviewed draft when (and only when) the user switched history on."""
        if self._keepers is None:
            self._keepers = await self.history.history_users()
        if (req.user.platform, req.user.id) not in self._keepers:
            return  # the common case: history is off, nothing is stored and nothing queried
        user = await self.users.find(req.user)
        if user is None:
            return
        missed = sorted({f.playbook for f in result.findings if f.severity != "tip"})
        await self.history.add(
            user.id, self.clock.now(), result.context, result.score, result.verdict, missed, text
        )

    async def cmd_history(self, req: Request) -> list[Reply]:
        user = await self.users.ensure(req.user, self.clock.now())
        arg = req.arg("setting").lower()
        if arg in ("on", "off"):
            removed = await self.history.set_history(user.id, arg == "on")
            if self._keepers is not None:
                (self._keepers.add if arg == "on" else self._keepers.discard)(
                    (user.platform, user.platform_user_id)
                )
            if arg == "on":
                return _say(
                    req,
                    "History is on: I'll keep the drafts you send for review, so "
                    "you can see your progress with ",
                    code("/history"),
                    ". Turn it off any time; that deletes them.",
                )
            return _say(req, f"History is off and I deleted {plural(removed, 'stored draft')}.")
        if arg:
            return _say(
                req, "Use ", code("/history on"), ", ", code("/history off"), " or ",
                code("/history"), ".",
            )  # fmt: skip
        if not await self.history.keeps_history(user.id):
            return _say(
                req, "History is off, so I don't keep your drafts. ", code("/history on"),
                " to start.",
            )  # fmt: skip
        drafts = await self.history.recent(user.id)
        if not drafts:
            return _say(req, "No drafts reviewed since history was turned on.")
        parts: list[Segment | str] = [bold("Your recent reviews")]
        for d in drafts[:HISTORY_SHOWN]:
            parts += [f"\n• {d.at:%d %b %H:%M} — {d.score}/100 ({d.context})"]
        missed = Counter(p for d in drafts for p in d.missed)
        if missed:
            parts += ["\n\n", bold("Principles you miss most often")]
            for playbook, count in missed.most_common(3):
                parts += [f"\n• {self.titles.get(playbook, playbook)} — {count}×"]
        return _say(req, *parts)


def _with_recipient_finding(result: Review, extra: Finding, text: str) -> Review:
    """Add what another feature knows about the recipient. A specific finding replaces
    the playbook's generic one about the same thing ("you share X" over "no shared bond")."""
    generic = [
        f
        for f in result.findings
        if f.playbook == extra.playbook
        and extra.weight
        and f.span[0] == 0
        and f.span[1] >= len(text.rstrip())
    ]
    findings = (*(f for f in result.findings if f not in generic), extra)
    score = result.score
    if result.verdict == "revise" and not generic:
        score = max(0, score - extra.weight)
    return replace(result, findings=findings, score=score)
