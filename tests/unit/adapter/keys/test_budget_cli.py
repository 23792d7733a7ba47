"""`keys add --max-budget/--budget-duration`, `keys budget` and the BUDGET/SPENT/RESETS columns of `keys list`."""

from __future__ import annotations

from datetime import datetime, timezone

from adapter.keys.budget import counter_name
from adapter.keys.window import window
from adapter.metering.spend import NANO, LocalSpend

from .test_keys_cli import added, by_alias, keys, keys_file  # noqa: F401  (a fixture)


def columns(keys_file, alias: str) -> dict[str, str]:
    result = keys(keys_file, "list")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    header = lines[0].split()
    row = next(line.split() for line in lines[1:] if line.split()[0] == alias)
    return dict(zip(header, row))


def test_add_with_a_budget_stores_litellms_field_names(keys_file) -> None:
    added(keys_file, "hackathon", "--max-budget", "5", "--budget-duration", "1d")
    added(keys_file, "forever", "--max-budget", "0.25")
    text = keys_file.read_text()
    assert "max_budget: 5\n" in text and "budget_duration: 1d\n" in text and "max_budget: 0.25\n" in text
    stored = by_alias(keys_file)
    assert (stored["hackathon"].max_budget, stored["hackathon"].budget_duration) == (5.0, "1d")
    assert (stored["forever"].max_budget, stored["forever"].budget_duration) == (0.25, None)


def test_list_shows_budget_spend_in_the_current_window_and_its_reset(keys_file) -> None:
    added(keys_file, "daily", "--max-budget", "5", "--budget-duration", "1d")
    added(keys_file, "forever", "--max-budget", "2")
    added(keys_file, "free")
    now = datetime.now(timezone.utc)
    spend = LocalSpend(keys_file.parent / "logs")
    daily, forever = by_alias(keys_file)["daily"], by_alias(keys_file)["forever"]
    today = window("1d", now)
    spend.add(counter_name(daily), today.key, int(1.5 * NANO))
    spend.add(counter_name(daily), today.key - 86400, 99 * NANO)  # yesterday's: not this window's
    spend.add(counter_name(forever), window(None, now).key, 12345)
    shown = columns(keys_file, "daily")
    assert (shown["BUDGET"], shown["SPENT"]) == ("$5.00/1d", "$1.50")
    assert shown["RESETS"] == today.end.isoformat().replace("+00:00", "Z")
    shown = columns(keys_file, "forever")
    assert (shown["BUDGET"], shown["SPENT"], shown["RESETS"]) == ("$2.00/lifetime", "$0.000012345", "never")
    assert (columns(keys_file, "free")["BUDGET"], columns(keys_file, "free")["SPENT"]) == ("-", "-")


def test_budget_sets_changes_and_removes_keeping_the_other_fields(keys_file) -> None:
    added(keys_file, "team-a", "--models", "m1", "--rpm", "60", "--customer-id", "cust-a", "--expires", "2030-01-01")
    before = by_alias(keys_file)["team-a"]
    result = keys(keys_file, "budget", "team-a", "--max-budget", "200", "--budget-duration", "1mo")
    assert result.returncode == 0 and "$200.00 per 30d" in result.stdout, result.stderr
    key = by_alias(keys_file)["team-a"]
    assert (key.max_budget, key.budget_duration) == (200.0, "30d")  # 1mo is LiteLLM's 30d: a calendar month
    assert (key.hash, key.models, key.rpm, key.customer_id, key.expires) == (
        before.hash, before.models, before.rpm, before.customer_id, before.expires)
    assert keys(keys_file, "budget", "team-a", "--max-budget", "250").returncode == 0
    assert (by_alias(keys_file)["team-a"].max_budget, by_alias(keys_file)["team-a"].budget_duration) == (250.0, "30d")
    assert keys(keys_file, "budget", "team-a", "--budget-duration", "1w").returncode == 0
    assert by_alias(keys_file)["team-a"].budget_duration == "7d"
    assert keys(keys_file, "budget", "team-a", "--lifetime").returncode == 0
    assert by_alias(keys_file)["team-a"].budget_duration is None
    assert keys(keys_file, "budget", "team-a", "--remove").returncode == 0
    key = by_alias(keys_file)["team-a"]
    assert (key.max_budget, key.budget_duration, key.hash) == (None, None, before.hash)
    assert "budget" not in keys_file.read_text()


def test_a_bad_duration_names_the_accepted_ones(keys_file) -> None:
    result = keys(keys_file, "add", "--alias", "a", "--max-budget", "5", "--budget-duration", "45s")
    assert result.returncode != 0 and "--budget-duration" in result.stderr and "calendar" in result.stderr
    assert "30s" in result.stderr and "1d" in result.stderr and "30d" in result.stderr
