"""Budgets: a key's spend in its window against its max_budget, the refusal's words and reset, and charging."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

import yaml

from adapter.keys import KeyRing, hash_key
from adapter.keys.auth import make_budget_check
from adapter.keys.budget import Budgets, counter_name, dollars
from adapter.metering.spend import LocalSpend

TEAM, HACK, FREE, LIFE = "sk-team-0123456789", "sk-hack-0123456789", "sk-free-0123456789", "sk-life-0123456789"


class Clock:
    def __init__(self, text: str):
        self.now = datetime.fromisoformat(text).replace(tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now


def setup(tmp_path, now: str = "2026-12-07T10:00:00"):
    (tmp_path / "keys.yaml").write_text(yaml.safe_dump({"keys": [
        {"alias": "team-a", "hash": hash_key(TEAM), "max_budget": 200, "budget_duration": "30d"},
        {"alias": "hackathon", "hash": hash_key(HACK), "max_budget": 5, "budget_duration": "1d"},
        {"alias": "free", "hash": hash_key(FREE)},
        {"alias": "life", "hash": hash_key(LIFE), "max_budget": 0.5},
    ]}))
    keys, clock, spend = KeyRing(tmp_path / "keys.yaml", check_every=0), Clock(now), LocalSpend(tmp_path / "logs")
    return Budgets(spend, keys, clock), keys, clock, spend


def run(coroutine):
    return asyncio.run(coroutine)


def test_a_key_is_refused_once_its_spend_reaches_its_budget_and_told_when_it_resets(tmp_path):
    budgets, keys, clock, _ = setup(tmp_path)
    hackathon = keys.find(HACK)
    run(budgets.charge(hackathon.hash, 4.99))
    assert run(budgets.check(hackathon)) is None
    run(budgets.charge(hackathon.hash, 0.01))
    over = run(budgets.check(hackathon))
    assert over.message == ("key 'hackathon' has spent $5.00 of its $5.00 budget for 1d; "
                            "it resets at 2026-12-08T00:00:00Z")
    assert (over.retry_after, over.alias) == (14 * 3600, "hackathon")


def test_the_next_window_starts_from_zero_and_the_old_one_is_kept_apart(tmp_path):
    budgets, keys, clock, spend = setup(tmp_path)
    hackathon = keys.find(HACK)
    run(budgets.charge(hackathon.hash, 6))
    assert run(budgets.check(hackathon)) is not None
    clock.now = datetime(2026, 12, 8, 0, 0, tzinfo=timezone.utc)
    assert run(budgets.check(hackathon)) is None
    run(budgets.charge(hackathon.hash, 1))
    assert run(budgets.spent(hackathon, clock.now))[0] == 1
    assert spend.spent(counter_name(hackathon), int(datetime(2026, 12, 7, tzinfo=timezone.utc).timestamp())) == 6e9


def test_keys_without_a_budget_are_neither_checked_nor_counted(tmp_path):
    budgets, keys, _, spend = setup(tmp_path)
    free = keys.find(FREE)
    run(budgets.charge(free.hash, 1000))
    assert run(budgets.check(free)) is None and spend.take_all() == []


def test_unknown_hashes_zero_costs_and_failures_are_not_counted(tmp_path):
    budgets, keys, _, spend = setup(tmp_path)
    for key_hash, cost in ((hash_key("sk-gone"), 1.0), (keys.find(TEAM).hash, 0.0), (keys.find(TEAM).hash, -1.0)):
        run(budgets.charge(key_hash, cost))
    assert spend.take_all() == []


def test_a_lifetime_budget_never_resets(tmp_path):
    budgets, keys, clock, _ = setup(tmp_path)
    life = keys.find(LIFE)
    run(budgets.charge(life.hash, 0.75))
    clock.now = datetime(2031, 1, 1, tzinfo=timezone.utc)
    over = run(budgets.check(life))
    assert over.retry_after == 0
    assert over.message.startswith("key 'life' has spent $0.75 of its $0.50 budget (a lifetime budget: it does not ")


def test_a_budget_raised_in_the_file_lets_the_key_in_again_keeping_its_spend(tmp_path):
    budgets, keys, _, _ = setup(tmp_path)
    run(budgets.charge(keys.find(HACK).hash, 5))
    assert run(budgets.check(keys.find(HACK))) is not None
    path = tmp_path / "keys.yaml"
    path.write_text(path.read_text().replace("max_budget: 5\n", "max_budget: 6\n"))
    raised = keys.find(HACK)
    assert raised.max_budget == 6 and run(budgets.check(raised)) is None
    assert run(budgets.spent(raised, budgets.clock()))[0] == 5


def test_amounts_add_exactly_in_nano_dollars(tmp_path):
    budgets, keys, _, _ = setup(tmp_path)
    team = keys.find(TEAM)
    for _ in range(1000):
        run(budgets.charge(team.hash, 0.000013))
    assert run(budgets.spent(team, budgets.clock()))[0] == 0.013


def test_the_door_check_identifies_the_key_and_leaves_the_master_key_alone(tmp_path):
    budgets, keys, _, _ = setup(tmp_path)
    run(budgets.charge(keys.find(HACK).hash, 5))
    check = make_budget_check("sk-master", keys, budgets)
    assert run(check("sk-master")) is None and run(check("sk-unknown")) is None and run(check(TEAM)) is None
    assert run(check(HACK)).alias == "hackathon"


def test_dollars_show_cents_or_the_digits_that_matter():
    assert [dollars(amount) for amount in (0, 5, 1234.5, 0.5, 0.000095, 0.0000000004)] == [
        "$0.00", "$5.00", "$1,234.50", "$0.50", "$0.000095", "$0.00"]
