"""The keys' money budgets as Prometheus gauges, computed when /metrics is read: max budget and what is left of it."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable, Iterator

from prometheus_client.metrics_core import GaugeMetricFamily
from prometheus_client.registry import Collector

from adapter.metering.spend import NANO

from .budget import counter_name
from .ring import KeyRing
from .window import window

Spent = Callable[[str, int], int]  # (counter name, window) → nano-dollars spent, read synchronously


class BudgetSeries(Collector):
    """litellm_api_key_max_budget_metric and litellm_remaining_api_key_budget_metric per key alias, for the keys with
    a budget, read from the keys file and the spend store at each scrape (a read per key)."""

    def __init__(self, keys: KeyRing, spent: Spent, clock: Callable[[], datetime] | None = None):
        self.keys, self.spent = keys, spent
        self.clock = clock or (lambda: datetime.now(timezone.utc))

    def describe(self) -> list[GaugeMetricFamily]:
        """The families without samples: registering reads no spend."""
        return list(self._families())

    def collect(self) -> Iterator[GaugeMetricFamily]:
        largest, left = self._families()
        now = self.clock()
        for key in self.keys.all():
            if key.max_budget is None:
                continue
            spent = self.spent(counter_name(key), window(key.budget_duration, now).key) / NANO
            largest.add_metric([key.alias], key.max_budget)
            left.add_metric([key.alias], key.max_budget - spent)
        yield largest
        yield left

    @staticmethod
    def _families() -> tuple[GaugeMetricFamily, GaugeMetricFamily]:
        largest = GaugeMetricFamily("litellm_api_key_max_budget_metric", "Maximum budget set for api key (USD)",
                                    labels=["api_key_alias"])
        left = GaugeMetricFamily("litellm_remaining_api_key_budget_metric",
                                 "Remaining budget for api key in its current window (USD)", labels=["api_key_alias"])
        return largest, left
