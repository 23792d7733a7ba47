"""BudgetSeries: each budgeted key's max budget and what is left of it in its current window, read at scrape time."""

from __future__ import annotations

import asyncio

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from adapter.keys.budget_metrics import BudgetSeries
from adapter.metering.spend import SpendReader

from .test_budget import HACK, TEAM, setup


def gauges(series: BudgetSeries) -> dict:
    registry = CollectorRegistry()
    registry.register(series)
    text = generate_latest(registry).decode()
    return {(s.name, s.labels["api_key_alias"]): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_budgeted_keys_show_their_budget_and_what_is_left_in_the_current_window(tmp_path):
    budgets, keys, clock, spend = setup(tmp_path)
    asyncio.run(budgets.charge(keys.find(TEAM).hash, 12.5))
    asyncio.run(budgets.charge(keys.find(HACK).hash, 6))  # over: what is left goes below zero
    assert gauges(BudgetSeries(keys, SpendReader(spend.path.parent).spent, clock)) == {
        ("litellm_api_key_max_budget_metric", "team-a"): 200, ("litellm_remaining_api_key_budget_metric", "team-a"): 187.5,
        ("litellm_api_key_max_budget_metric", "hackathon"): 5, ("litellm_remaining_api_key_budget_metric", "hackathon"): -1,
        ("litellm_api_key_max_budget_metric", "life"): 0.5, ("litellm_remaining_api_key_budget_metric", "life"): 0.5,
    }


def test_a_new_window_starts_full_and_registering_reads_no_spend(tmp_path):
    budgets, keys, clock, spend = setup(tmp_path)
    asyncio.run(budgets.charge(keys.find(HACK).hash, 2))
    reads = []
    series = BudgetSeries(keys, lambda key, window: reads.append(key) or spend.spent(key, window), clock)
    CollectorRegistry(auto_describe=True).register(series)
    assert reads == []
    clock.now = clock.now.replace(day=clock.now.day + 1)  # hackathon's budget is per day
    assert gauges(series)[("litellm_remaining_api_key_budget_metric", "hackathon")] == 5
