"""The `netcoach` command.

    netcoach review "Hi Ana, loved your talk!" [--context dm] [--json]
    netcoach review - < draft.txt
    netcoach review --batch drafts.jsonl        # JSON Lines in, JSON Lines out
    netcoach playbooks list | check [DIR...]
    netcoach playbooks eval labelled.jsonl [--playbooks DIR] [--fit]
    netcoach playbooks train SIGNAL|verdict labelled.jsonl... --out MODEL.json [--min-df N]
    netcoach chat [--config FILE]               # the console chat
    netcoach run  [--config FILE]               # every adapter enabled in config
    netcoach db migrate [--config FILE]         # create or upgrade the database schema
    netcoach db copy SQLITE_FILE POSTGRES_URL   # move an SQLite install to PostgreSQL

`review` and `playbooks` never import a chat platform library, so they start fast.
Exit status: 0 on success, 2 on usage or input errors (one line on stderr); --batch
exits 1 when some lines could not be reviewed (each has its "error" line in the output).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from difflib import get_close_matches
from pathlib import Path
from typing import IO, Any, NoReturn

from netcoach.bot.config import ConfigError, load_config
from netcoach.bot.review import BUILTIN_DIR, CONTEXTS, PlaybookError, PlaybookSet, check_dirs
from netcoach.bot.review import load_playbooks as _load_playbooks
from netcoach.bot.review.evaluate import (
    LABELLED_SIGNALS,
    LabelError,
    Labelled,
    evaluate,
    fit_weights,
    read_labelled,
    render,
)

USAGE_ERROR = 2
SOME_LINES_FAILED = 1
# Other ways people write a context's name (the chat accepts the same).
CONTEXT_ALIASES = {
    "followup": "follow-up",
    "follow_up": "follow-up",
    "first-message": "dm",
    "intro-post": "intro",
}


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    """argparse with its errors on one line, as every other error here, and the option
    meant when one is misspelt (Python 3.11's argparse has no "did you mean")."""

    def error(self, message: str) -> NoReturn:
        hint = ""
        if message.startswith(_UNRECOGNIZED):
            known = _options(self)
            unknown = message.removeprefix(_UNRECOGNIZED).split()
            for arg in unknown:
                if not arg.startswith("--"):
                    continue
                name = arg.partition("=")[0]
                close = get_close_matches(name, known, n=1, cutoff=0.75)
                if close and close[0] == name:
                    hint = f"; {name} is an option of another command"
                    break
                if close:
                    hint = f"; did you mean {close[0]}?"
                    break
            else:
                if unknown and not unknown[0].startswith("-"):
                    hint = '; quote text that has spaces ("Hi Ana, how was the talk?")'

        self.exit(USAGE_ERROR, f"{self.prog}: {message}{hint} (see {self.prog} --help)\n")


_UNRECOGNIZED = "unrecognized arguments: "


def _options(parser: argparse.ArgumentParser) -> list[str]:
    """Every long option of a parser and of its commands (an unknown option is reported
    by the top parser, which does not know which command it was meant for)."""
    found: set[str] = set()
    for action in parser._actions:
        found.update(o for o in action.option_strings if o.startswith("--"))
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found.update(_options(sub))
    return sorted(found)


def _context(name: str) -> str:
    key = name.strip().lower()
    return CONTEXT_ALIASES.get(key, key)


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return USAGE_ERROR
    try:
        return args.func(args)
    except (UsageError, ConfigError, PlaybookError) as exc:
        print(f"netcoach: {exc}", file=sys.stderr)
        return USAGE_ERROR
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader left early (`netcoach playbooks eval … | head`): not an error. Python
        # would complain again flushing stdout at exit, so stdout now goes nowhere.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="netcoach", description="Coach networking etiquette: review drafts, follow up."
    )
    sub = parser.add_subparsers(metavar="COMMAND")

    rv = sub.add_parser("review", help="review a draft message")
    rv.add_argument("text", nargs="?", help="the draft; - or a pipe reads it from stdin")
    rv.add_argument(
        "--context",
        "-c",
        default="dm",
        type=_context,
        choices=CONTEXTS,
        help="what the draft is: dm (a first message, the default), intro (a community intro "
        "post), follow-up (also: followup), introduction (introducing two people)",
    )
    rv.add_argument("--json", action="store_true", help="print the review as JSON")
    rv.add_argument(
        "--batch",
        metavar="FILE",
        help="JSON Lines of {id, context, text}, one review per line out; - = stdin; exit "
        "status 1 when some lines could not be reviewed",
    )
    rv.add_argument(
        "--playbooks",
        action="append",
        default=[],
        metavar="DIR",
        help="add a folder of playbooks to the built-in ones (repeatable)",
    )
    rv.add_argument("--config", metavar="FILE", help="read playbook folders and limits from here")
    rv.set_defaults(func=cmd_review)

    pb = sub.add_parser("playbooks", help="list, check, evaluate or train playbooks")
    pb_sub = pb.add_subparsers(metavar="ACTION")
    ls = pb_sub.add_parser("list", help="playbooks, rule counts and contexts")
    ls.add_argument(
        "--playbooks",
        action="append",
        default=[],
        metavar="DIR",
        help="add a folder of playbooks to the built-in ones (repeatable)",
    )
    ls.set_defaults(func=cmd_playbooks_list)
    ck = pb_sub.add_parser("check", help="report every error in playbook folders")
    ck.add_argument("dirs", nargs="*", metavar="DIR", help="default: the built-in playbooks")
    ck.set_defaults(func=cmd_playbooks_check)
    ev = pb_sub.add_parser("eval", help="measure every rule against labelled drafts")
    ev.add_argument(
        "files",
        nargs="+",
        metavar="FILE",
        help="JSON Lines of {context, text, verdict, pitch, ask, …}: signals are keys too",
    )
    ev.add_argument(
        "--playbooks",
        action="append",
        default=[],
        metavar="DIR",
        help="add a folder of playbooks to the built-in ones (repeatable)",
    )
    ev.add_argument("--fit", action="store_true", help="also suggest each rule's weight")
    ev.add_argument("--worst", type=int, default=5, metavar="N", help="false alarms to show")
    ev.set_defaults(func=cmd_playbooks_eval)
    tr = pb_sub.add_parser("train", help="fit a model detector's weights to labelled drafts")
    tr.add_argument(
        "signal",
        choices=(*LABELLED_SIGNALS, "verdict"),
        help="the signal the model detects, or 'verdict': revise against ready, by context",
    )
    tr.add_argument(
        "files",
        nargs="+",
        metavar="FILE",
        help="JSON Lines of {context, text, verdict, pitch, ask, …}: signals are keys too",
    )
    tr.add_argument("--out", required=True, metavar="MODEL", help="where to write the model")
    tr.add_argument(
        "--playbooks",
        action="append",
        default=[],
        metavar="DIR",
        help="for 'verdict': add a folder of playbooks whose findings the model reads",
    )
    tr.add_argument("--c", type=float, default=4.0, help="inverse regularisation (default 4)")
    tr.add_argument("--iterations", type=int, default=150, metavar="N", help="default 150")
    tr.add_argument(
        "--min-df", type=int, default=2, metavar="N", help="keep words in N drafts or more (2)"
    )
    tr.set_defaults(func=cmd_playbooks_train)

    db = sub.add_parser("db", help="the database: migrate, or copy SQLite to PostgreSQL")
    db_sub = db.add_subparsers(metavar="ACTION")
    mg = db_sub.add_parser(
        "migrate", help="create or upgrade the schema of the configured database"
    )
    mg.add_argument("--config", metavar="FILE", help="config file (default: none)")
    mg.set_defaults(func=cmd_db_migrate)
    cp = db_sub.add_parser("copy", help="copy an SQLite file into an empty PostgreSQL database")
    cp.add_argument("sqlite_file", metavar="SQLITE_FILE")
    cp.add_argument("url", metavar="POSTGRES_URL", help="postgresql://user@host:5432/netcoach")
    cp.set_defaults(func=cmd_db_copy)

    for name, helptext in (
        ("chat", "chat with netcoach in this terminal"),
        ("run", "start every adapter enabled in the config"),
    ):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("--config", metavar="FILE", help="config file (default: none)")
        p.set_defaults(func=cmd_chat if name == "chat" else cmd_run)
    return parser


def cmd_review(args: argparse.Namespace) -> int:
    from netcoach.bot.features.drafts import DEFAULT_MAX_CHARS, clean_draft
    from netcoach.bot.review import ReviewError, review

    # The adapters' sections are theirs to check (netcoach run); a review never loads them.
    adapters = ("console", "telegram", "discord")
    config = load_config(args.config, foreign=adapters) if args.config else None
    dirs = [*(config["playbooks"]["dirs"] if config else []), *args.playbooks]
    disabled = config["playbooks"]["disabled_rules"] if config else []
    playbooks = _load_playbooks(dirs, disabled, config=config.source if config else "config")
    max_chars = config["review"]["max_chars"] if config else DEFAULT_MAX_CHARS

    if args.batch:
        if args.text:
            raise UsageError("give either a draft or --batch, not both")
        return _review_batch(args.batch, playbooks, max_chars)
    piped = args.text is None and not sys.stdin.isatty()  # echo "…" | netcoach review
    if args.text is None and not piped:
        raise UsageError('give a draft to review, e.g. netcoach review "Hi Ana, …", or - for stdin')
    text = _read_stdin() if piped or args.text == "-" else args.text
    text = clean_draft(text)
    if len(text) > max_chars:
        raise UsageError(f"the draft is {len(text):,} characters; the limit is {max_chars:,}")
    try:
        result = review(text, args.context, playbooks)
    except ReviewError as exc:
        raise UsageError(str(exc)) from None
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False))
    else:
        from netcoach.bot.features.drafts import format_review

        print(_render_terminal(format_review(result, text)))
    return 0


def _read_stdin() -> str:
    data = sys.stdin.buffer.read()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"stdin is not valid UTF-8 (byte {exc.start})") from None


def _review_batch(source: str, playbooks: PlaybookSet, max_chars: int) -> int:
    from netcoach.bot.features.drafts import clean_draft
    from netcoach.bot.review import ReviewError, review

    stream: IO[bytes] = sys.stdin.buffer if source == "-" else _open(source)
    out = sys.stdout
    failed = total = 0
    with stream:
        for number, raw in enumerate(stream, start=1):
            if not raw.strip():
                continue
            total += 1
            item_id: Any = None
            try:
                item = _batch_item(raw)
                item_id = item.get("id")
                text = item.get("text")
                if not isinstance(text, str):
                    raise ValueError(
                        'no "text" to review: give the draft as a string, e.g. '
                        '{"id": 1, "text": "Hi Ana, …"}'
                    )
                text = clean_draft(text)
                if len(text) > max_chars:
                    raise ValueError(
                        f"text is {len(text):,} characters; the limit is {max_chars:,}"
                    )
                context = item.get("context") or "dm"
                if not isinstance(context, str):
                    raise ValueError('"context" must be one of: ' + ", ".join(CONTEXTS))
                result = review(text, _context(context), playbooks)
                out.write(json.dumps({"id": item_id, **result.to_dict()}, ensure_ascii=False))
            except (ValueError, ReviewError) as exc:
                failed += 1
                error = {"id": item_id, "line": number, "error": str(exc)}
                out.write(json.dumps(error, ensure_ascii=False))
            out.write("\n")
    if failed:
        print(
            f"netcoach: {failed} of {total} line{'s' * (total != 1)} could not be reviewed "
            '(see their "error")',
            file=sys.stderr,
        )
        return SOME_LINES_FAILED
    return 0


def _batch_item(raw: bytes) -> dict[str, Any]:
    """One JSON Lines line as an object, or a ValueError a person can act on."""
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"the line is not valid UTF-8 (byte {exc.start + 1})") from None
    try:
        item = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"the line is not valid JSON ({exc.msg.lower()} at character {exc.pos + 1}); "
            'each line must be an object like {"id": 1, "text": "Hi Ana, …"}'
        ) from None
    if not isinstance(item, dict):
        raise ValueError(
            'each line must be a JSON object like {"id": 1, "text": "Hi Ana, …"}, not '
            f"{type(item).__name__ if item is not None else 'null'}"
        )
    return item


def _open(path: str) -> IO[bytes]:
    try:
        return open(path, "rb")
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None


def _render_terminal(body: Any) -> str:
    bold_on, mark_on, off = ("\033[1m", "\033[7m", "\033[0m") if sys.stdout.isatty() else ("",) * 3
    out = []
    for seg in body:
        if seg.style == "bold":
            out.append(f"{bold_on}{seg.text}{off}")
        elif seg.style == "mark":
            out.append(f"{mark_on}{seg.text}{off}" if mark_on else f"[{seg.text}]")
        else:
            out.append(seg.text)
    return "".join(out)


def cmd_playbooks_list(args: argparse.Namespace) -> int:
    playbooks = _load_playbooks(args.playbooks)
    for p in playbooks:
        contexts = ", ".join(sorted(p.contexts))
        rules = f"{len(p.rules)} rule{'s' * (len(p.rules) != 1)}"
        print(f"{p.id:28} {rules:9} {len(p.tips):2} tips  [{contexts}]  {p.title}")
    return 0


def cmd_playbooks_check(args: argparse.Namespace) -> int:
    dirs = args.dirs or [str(BUILTIN_DIR)]
    problems = check_dirs(dirs)
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} problem{'s' * (len(problems) != 1)} found", file=sys.stderr)
        return 1
    print(f"ok: {', '.join(dirs)}")
    return 0


def cmd_playbooks_eval(args: argparse.Namespace) -> int:
    playbooks = _load_playbooks(args.playbooks)
    files = _labelled_files(args.files)
    if files is None:
        return USAGE_ERROR
    rows = [row for _, found in files for row in found]
    if not rows:
        raise UsageError(f"{', '.join(args.files)}: no labelled drafts")
    print(render(evaluate(rows, playbooks), worst=args.worst))
    if args.fit:
        current = {c.id: c.weight for c in playbooks.checks if c.is_rule}
        print("\nsuggested weights (a draft is to revise above 40 points):")
        for rule, weight in sorted(fit_weights(rows, playbooks).items(), key=lambda kv: -kv[1]):
            print(f"  {rule:38} {current[rule]:3} -> {weight:3}")
    return 0


def _labelled_files(names: Sequence[str]) -> list[tuple[Path, list[Labelled]]] | None:
    """Each file's labelled drafts; None when some lines are bad (each printed, with its
    line number, on stderr). A file that cannot be read is a usage error."""
    out = []
    for name in names:
        try:
            out.append((Path(name), read_labelled(Path(name))))
        except OSError as exc:
            raise UsageError(f"cannot read {name}: {exc.strerror}") from None
        except LabelError as exc:
            for problem in exc.problems:
                print(problem, file=sys.stderr)
            return None
    return out


def _findings_read(folders: list[str]) -> Callable[[str, str], tuple[str, ...]]:
    """The verdict model's features besides the words: the findings and signals of the
    playbooks in force (without the calibration being trained), as a review gives them."""
    from dataclasses import replace

    from netcoach.bot.review.engine import engine_for, verdict_features

    engine = engine_for(replace(_load_playbooks(folders), calibration=None))

    def read(text: str, context: str) -> tuple[str, ...]:
        result = engine.run(text, context)
        return verdict_features(context, [f.rule for f in result.findings], result.signals)

    return read


def cmd_playbooks_train(args: argparse.Namespace) -> int:
    import hashlib

    from netcoach.bot.review.model import ModelError, train

    if args.c <= 0 or args.iterations < 1 or args.min_df < 1:
        raise UsageError("--c must be above 0, and --iterations and --min-df at least 1")
    files = _labelled_files(args.files)
    if files is None:
        return USAGE_ERROR
    rows, sources = [], []
    verdict = args.signal == "verdict"
    for path, found in files:
        labelled = [r for r in found if verdict or args.signal in r.signals]
        rows += labelled
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
        sources.append({"file": path.name, "sha256": digest, "drafts": len(labelled)})
    about = {
        "signal": args.signal,
        "c": args.c,
        "iterations": args.iterations,
        "min_df": args.min_df,
        "data": sources,
    }
    try:
        model = train(
            ((r.text, r.verdict == "revise", r.context) for r in rows)
            if verdict
            else ((r.text, r.signals[args.signal]) for r in rows),
            c=args.c,
            iterations=args.iterations,
            min_df=args.min_df,
            about=about,
            extra=_findings_read(args.playbooks) if verdict else None,
        )
    except ModelError as exc:
        raise UsageError(str(exc)) from None
    try:
        Path(args.out).write_text(json.dumps(model.to_json(), ensure_ascii=False), "utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {args.out}: {exc.strerror}") from None
    print(f"{args.out}: {len(model.table)} features from {len(rows)} labelled drafts")
    return 0


def cmd_db_migrate(args: argparse.Namespace) -> int:
    import asyncio

    from netcoach.bot.storage import StoreError
    from netcoach.bot.storage.transfer import migrate

    config = load_config(args.config)
    try:
        print(asyncio.run(migrate(str(config["database"]))))
    except StoreError as exc:
        raise UsageError(str(exc)) from None
    return 0


def cmd_db_copy(args: argparse.Namespace) -> int:
    import asyncio
    import os

    from netcoach.bot.storage import StoreError
    from netcoach.bot.storage.transfer import copy

    if not os.path.exists(args.sqlite_file):
        raise UsageError(f"{args.sqlite_file}: no such file")
    url = os.path.expandvars(args.url)  # a password may come from ${VAR}
    try:
        counts = asyncio.run(copy(args.sqlite_file, url))
    except StoreError as exc:
        raise UsageError(str(exc)) from None
    total = sum(counts.values())
    print(f"copied {total} rows in {len(counts)} tables; every table's row count matches")
    for table, n in counts.items():
        print(f"  {table:16} {n}")
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    from netcoach.bot.app import chat

    return chat(args.config)


def cmd_run(args: argparse.Namespace) -> int:
    from netcoach.bot.app import run

    return run(args.config)


if __name__ == "__main__":
    sys.exit(main())
