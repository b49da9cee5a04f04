"""Profiles as people edit them, and the limits that keep one member from learning
another's profile by guessing: values per field, /bond answers per pair per minute."""

from __future__ import annotations

from datetime import timedelta

import pytest
from stack import Stack
from test_profiles import ANA, BEN, CAL, Community

from netcoach.bot.features.profiles.feature import BOND_ANSWERS, MAX_VALUES


@pytest.fixture
async def community(tmp_path, playbooks):
    store = await Stack.open(tmp_path / "limits.sqlite3")
    yield Community(store, playbooks)
    await store.close()


async def _values(community: Community, user, field: str) -> list[str]:
    found = await community.store.users.find(user)
    assert found is not None
    _, tags = await community.store.profile_repo.get(found.id)
    return [display for f, _, display in tags if f == field]


async def test_set_says_what_it_replaced_and_add_and_remove_change_some(community):
    await community.say(ANA, "/profile set interests sourdough, trail running, chess")
    said = await community.say(ANA, "/profile set hobbies knitting")
    assert "This replaced sourdough, trail running, chess" in said
    assert "/profile add interests" in said
    assert await _values(community, ANA, "interests") == ["knitting"]

    said = await community.say(ANA, "/profile add hobbies chess, Knitting, rowing")
    assert "Added to your interests: chess, rowing." in said
    assert await _values(community, ANA, "interests") == ["knitting", "chess", "rowing"]

    said = await community.say(ANA, "/profile remove interests chess, darts")
    assert "Removed from your interests: chess." in said and "(darts was not there.)" in said
    assert await _values(community, ANA, "interests") == ["knitting", "rowing"]
    said = await community.say(ANA, "/profile remove interests darts")
    assert "don't include darts. Nothing was changed." in said


async def test_a_field_holds_at_most_twenty_values(community):
    guesses = ", ".join(f"Town {n}" for n in range(MAX_VALUES + 1))
    said = await community.say(ANA, f"/profile set lives {guesses}")
    assert f"at most {MAX_VALUES} values" in said and "Nothing was changed" in said
    assert await _values(community, ANA, "lives") == []
    await community.say(ANA, "/profile set lives " + ", ".join(f"T{n}" for n in range(MAX_VALUES)))
    said = await community.say(ANA, "/profile add lives One more")
    assert f"at most {MAX_VALUES} values" in said
    assert len(await _values(community, ANA, "lives")) == MAX_VALUES


async def test_bond_answers_a_pair_of_people_a_few_times_a_minute(community):
    await community.join(ANA, ("employers", "Acme"))
    await community.join(BEN, ("employers", "Initech"))
    await community.join(CAL, ("employers", "Acme"))
    clock = community.profiles.clock
    for guess in ("Globex", "Umbrella", "Initech")[:BOND_ANSWERS]:
        await community.say(ANA, f"/profile set employers {guess}")
        said = await community.say(ANA, "/bond", member="u2", member_name="Ben")
        assert "asked what you share" not in said
    await community.say(ANA, "/profile set employers Hooli")
    said = await community.say(ANA, "/bond", member="u2", member_name="Ben")
    assert f"asked what you share with Ben {BOND_ANSWERS} times in the last minute" in said
    assert "Hooli" not in said
    # Another pair is not held up, and a review to Ben goes on without the bond.
    assert "asked what you share" not in await community.say(
        ANA, "/bond", member="u3", member_name="Cal"
    )
    review = await community.say(ANA, "/review Hi Ben, how is the new job going?", member="u2")
    assert "/100" in review
    clock.advance(timedelta(minutes=1))
    assert "asked what you share" not in await community.say(
        ANA, "/bond", member="u2", member_name="Ben"
    )
