"""Money budgets per key: refuse a key whose spend in its current window has reached its max_budget, and charge
each call's cost to the window it ended in.

The spend lives in a counter store (metering/spend.py: SQLite on one host, Redis across replicas) handed in by
hooks/. A call is checked once, before the backend is called, and charged when LiteLLM logs its cost (just after its
last byte): a call started within budget always finishes, so a window can overshoot by at most the cost of the calls
in flight (or not yet logged) when the budget is reached: at most max_parallel of them for a key with that limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Protocol

from adapter.metering.spend import NANO, to_nano

from .file import HASH_PREFIX, Key
from .ring import KeyRing
from .window import Window, window

class SpendStore(Protocol):
    async def spent_async(self, key: str, window: int) -> int: ...
    async def add_async(self, key: str, window: int, nano: int, ends: datetime | None) -> None: ...


@dataclass(frozen=True)
class OverBudget:
    """A key refused for its budget: the message, seconds until its window resets (0: never), its alias."""

    message: str
    retry_after: int
    alias: str


def counter_name(key: Key) -> str:
    """What a key's counters are filed under: its hash's hex digits (never the key)."""
    return key.hash.removeprefix(HASH_PREFIX)


def dollars(amount: float) -> str:
    """$12.50 for whole cents and for a dollar or more, else the digits that matter ($0.000095)."""
    if amount >= 1 or round(amount, 2) == amount:
        return f"${amount:,.2f}"
    digits = f"{amount:.9f}".rstrip("0")
    return "$" + (digits + "00" if digits.endswith(".") else digits)


def utc_text(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def refusal_message(key: Key, spent: float, current: Window) -> str:
    budget = f"{dollars(key.max_budget)} budget"
    if current.end is None:
        return (f"key '{key.alias}' has spent {dollars(spent)} of its {budget} (a lifetime budget: it does not "
                f"reset; an operator can raise it with `keys.sh budget {key.alias} --max-budget USD`)")
    return (f"key '{key.alias}' has spent {dollars(spent)} of its {budget} for {key.budget_duration}; "
            f"it resets at {utc_text(current.end)}")


class Budgets:
    """Checks and charges keys' budgets against one spend store."""

    def __init__(self, store: SpendStore, keys: KeyRing, clock: Callable[[], datetime] | None = None):
        self.store, self.keys = store, keys
        self.clock = clock or (lambda: datetime.now(timezone.utc))

    async def spent(self, key: Key, now: datetime) -> tuple[float, Window]:
        """The key's spend (USD) in the window that contains `now`, and that window."""
        current = window(key.budget_duration, now)
        return await self.store.spent_async(counter_name(key), current.key) / NANO, current

    async def check(self, key: Key) -> OverBudget | None:
        """None while the key's spend in its current window is below its budget (or it has none)."""
        if key.max_budget is None:
            return None
        now = self.clock()
        spent, current = await self.spent(key, now)
        if spent < key.max_budget:
            return None
        return OverBudget(refusal_message(key, spent, current), current.seconds_left(now), key.alias)

    async def charge(self, key_hash: str, cost: float) -> None:
        """Add a finished call's cost (USD) to its key's current window; keys without a budget are not counted."""
        key = self.keys.by_hash(key_hash)
        if key is None or key.max_budget is None or not cost > 0:
            return
        current = window(key.budget_duration, self.clock())
        await self.store.add_async(counter_name(key), current.key, to_nano(cost), current.end)
