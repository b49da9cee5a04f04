"""Profiles and shared bonds as members see them: opt-in, rarest first, never invented."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from followup_fakes import FakeClock
from stack import Stack

from netcoach.bot.features.profiles.bonds import FIELDS, SharedTag, opener, rank
from netcoach.bot.features.profiles.tags import Tags, fold
from netcoach.bot.kernel import Coach, ParamValue, PlaceRef, Reply, Request, UserRef
from netcoach.bot.review import review

T0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
GUILD = PlaceRef("discord", "chan-1", "group", community="guild-1")
OTHER_GUILD = PlaceRef("discord", "chan-9", "group", community="guild-9")


def member(n: int) -> UserRef:
    return UserRef("discord", f"u{n}", f"Member {n}")


ANA, BEN, CAL = member(1), member(2), member(3)


def _params(args: dict[str, str]) -> dict[str, ParamValue]:
    """Options as Discord sends them: a picked member is a member, not a name."""
    params: dict[str, ParamValue] = dict(args)
    if "member" in args:
        params["member"] = UserRef("discord", args["member"], params.pop("member_name", ""))
    return params


class Community:
    """The core as the app wires it, talking to members of one Discord server."""

    def __init__(self, store: Stack, playbooks):
        clock = FakeClock(T0)
        self.store = store
        self.profiles = store.profiles(clock, playbooks)
        followups = store.followups(clock, playbooks)
        drafts = store.drafts(clock, playbooks, self.profiles)
        privacy = store.privacy(clock, [drafts, followups, self.profiles])
        self.coach = Coach([drafts, followups, self.profiles, privacy])

    async def say(self, user: UserRef, line: str, place: PlaceRef = GUILD, **args: str) -> str:
        command, _, text = line.lstrip("/").partition(" ")
        replies = await self.coach.handle(Request(user, place, command, text, _params(args)))
        assert all(r.private for r in replies)  # profiles are personal: never in public
        return "\n".join(r.text for r in replies)

    async def replies(self, user: UserRef, line: str, **args: str) -> list[Reply]:
        command, _, text = line.lstrip("/").partition(" ")
        return await self.coach.handle(Request(user, GUILD, command, text, _params(args)))

    async def join(self, user: UserRef, *fields: tuple[str, str], visibility="community"):
        for field, values in fields:
            await self.say(user, f"/profile set {field} {values}")
        await self.say(user, f"/profile visibility {visibility}")


@pytest.fixture
async def community(tmp_path, playbooks):
    store = await Stack.open(tmp_path / "bonds.sqlite3")
    yield Community(store, playbooks)
    await store.close()


def test_tag_keys_fold_case_accents_plurals_and_aliases():
    tags = Tags.load()
    assert tags.key("NYC") == tags.key("new york city") == tags.key("New-York City!")
    assert tags.key("uni of leeds") == tags.key("University of Leeds")
    assert tags.key("Café") == tags.key("cafes") == fold("cafe")
    assert tags.display(tags.key("nyc"), "nyc") == "New York City"


def test_aliases_are_data_so_adding_one_needs_no_code(tmp_path):
    path = tmp_path / "aliases.yaml"
    path.write_text("Faroe Islands: [Føroyar, the Faroes]\n")
    tags = Tags.load(path)
    assert tags.key("the faroes") == tags.key("FØROYAR") == tags.key("Faroe Islands")


async def test_bonds_are_ranked_rarest_first_and_say_how_rare(community):
    await community.join(ANA, ("from", "Faroe Islands"), ("interests", "python, chess"))
    await community.join(BEN, ("from", "Føroyar"), ("interests", "Python, chess"))
    for n in range(4, 14):  # ten others who like python, three of whom play chess
        await community.join(member(n), ("interests", "python" + (", chess" if n < 7 else "")))
    text = await community.say(ANA, "/bond", member="u2", member_name="Ben")
    lines = [line for line in text.splitlines() if line.startswith("•")]
    assert [line.split(" (")[0] for line in lines] == ["• Faroe Islands", "• chess", "• Python"]
    assert "2 of 12 members" in lines[0] and "12 of 12 members" in lines[2]
    assert "Faroe Islands" in text.split("A first line")[1]


async def test_a_private_profile_never_shows_up_in_someone_elses_bond(community):
    await community.join(ANA, ("lives", "Leeds"))
    await community.join(BEN, ("lives", "Leeds"), visibility="private")
    text = await community.say(ANA, "/bond", member="u2", member_name="Ben")
    assert "Leeds" not in text
    assert "don't see anything" in text


async def test_bonds_stay_within_a_community_both_belong_to(community):
    await community.join(ANA, ("schools", "uni of leeds"))
    await community.say(CAL, "/profile set schools University of Leeds", place=OTHER_GUILD)
    await community.say(CAL, "/profile visibility community", place=OTHER_GUILD)
    assert "Leeds" not in await community.say(ANA, "/bond", member="u3", member_name="Cal")


async def test_no_invented_bond_and_the_fallback_asks_about_their_work(community):
    await community.join(ANA, ("interests", "knitting"))
    await community.join(BEN, ("interests", "rowing"))
    text = await community.say(ANA, "/bond", member="u2", member_name="Ben")
    assert "knitting" not in text and "rowing" not in text
    assert "what you're working on" in text


@pytest.mark.parametrize("field", list(FIELDS))
def test_every_suggested_opener_passes_the_dm_review(field):
    line = opener("Ben", SharedTag(field, "k", "the Faroe Islands", 2, 300))
    result = review(line, "dm")
    assert result.verdict == "ready" and result.signals["shared_bond"], line
    assert review(opener("Ben", None), "dm").verdict == "ready"


def test_rank_prefers_rare_then_field_order():
    common = SharedTag("interests", "python", "Python", 200, 300)
    rare = SharedTag("events", "pycon", "PyCon Lisbon", 2, 300)
    assert rank([common, rare]) == [rare, common]


async def test_a_review_for_a_known_member_names_the_bond_it_leaves_out(community):
    await community.join(ANA, ("from", "Cork"))
    await community.join(BEN, ("from", "Cork"))
    draft = "Hi Ben, loved your talk on tidal energy! How did you get into it?"
    text = await community.say(ANA, f"/review {draft}", member="u2")
    assert "You share something the draft doesn't mention: Cork" in text
    mentioned = await community.say(ANA, "/review Hi Ben, fellow Cork person here! How are you?",
                                    member="u2")  # fmt: skip
    assert "doesn't mention" not in mentioned


async def test_a_review_to_a_contact_uses_the_bond_noted_for_them(community):
    await community.say(ANA, "/contact Maria bond we both sing in the Bristol choir")
    text = await community.say(ANA, "/review to Maria: Hi Maria, how was the concert?")
    assert "we both sing in the Bristol choir" in text


async def test_profile_input_mistakes_get_clear_messages(community):
    assert "I don't know the field 'shoe'" in await community.say(ANA, "/profile set shoe 42")
    assert "at least one value" in await community.say(ANA, "/profile set interests")
    assert "too long" in await community.say(ANA, "/profile set interests " + "x" * 120)
    assert "Choose one" in await community.say(ANA, "/profile visibility everyone")
    shown = await community.say(ANA, "/profile")
    assert "visibility: off" in shown and "Nothing yet" in shown


async def test_history_keeps_drafts_only_when_on_and_off_deletes_them(community):
    await community.say(ANA, "/review Hi Sam, check out my course!")
    assert "History is off" in await community.say(ANA, "/history")
    await community.say(ANA, "/history on")
    assert "No drafts reviewed" in await community.say(ANA, "/history")
    await community.say(ANA, "/review Hi Sam, check out my course!")
    await community.say(ANA, "/review hey")
    shown = await community.say(ANA, "/history")
    assert shown.count("/100") == 2 and "Networking, not marketing" in shown
    assert "deleted 2 stored drafts" in await community.say(ANA, "/history off")


async def test_mydata_sends_every_stored_row_as_a_json_file(community):
    await community.join(ANA, ("interests", "sailing"))
    await community.say(ANA, "/followup Maria tomorrow say hi")
    [reply] = await community.replies(ANA, "/mydata")
    [attachment] = reply.attachments
    data = json.loads(attachment.data)
    tables = data["tables"]
    assert tables["users"][0]["platform_user_id"] == "u1"
    assert tables["profile_tags"][0]["display"] == "sailing"
    assert tables["followups"][0]["note"] == "say hi"
    assert tables["memberships"][0]["community"] == "discord:guild-1"
