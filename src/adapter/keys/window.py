"""Budget windows: a key's budget_duration ("30s", "1h", "1d", "7d", "30d", …) as calendar-aligned UTC windows.

Windows are aligned to the calendar, as LiteLLM's standardized budget resets are (duration_parser.py), never to a
key's creation: every worker, replica and `keys.sh list` computes the same window from the clock alone, with no
state to share. A spend counter is kept per key and window start.
  Ns, Nm  where N divides 60     aligned to the minute / hour      (30s: :00 and :30 of every minute)
  Nh      where N divides 24     aligned to UTC midnight           (6h: 00:00, 06:00, 12:00, 18:00)
  1d                             a UTC day
  7d, 1w                         Monday 00:00 to Monday 00:00 UTC
  30d, 1mo                       a calendar month (the 1st, 00:00 UTC): LiteLLM's meaning of "30d"
No duration: one window for the key's whole life (a lifetime budget), which never resets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

DURATION_PATTERN = re.compile(r"([1-9][0-9]*)(s|m|h|d|w|mo)")
DURATIONS_HELP = ("Ns or Nm with N dividing 60 (30s, 10m), Nh with N dividing 24 (1h, 6h), 1d, 7d (a week from "
                  "Monday), 30d (a calendar month), or none for a lifetime budget")
LIFETIME_START = 0  # the window start a lifetime budget counts under
_STEP_SECONDS = {"s": 1, "m": 60, "h": 3600}
_DIVIDES = {"s": 60, "m": 60, "h": 24}
_UTC_MIDNIGHT = {"hour": 0, "minute": 0, "second": 0, "microsecond": 0}


@dataclass(frozen=True)
class Window:
    """[start, end) in UTC; end None for a lifetime budget."""

    start: datetime
    end: datetime | None

    @property
    def key(self) -> int:
        """What a spend counter is filed under: the start as a Unix time (0 for a lifetime budget)."""
        return LIFETIME_START if self.end is None else int(self.start.timestamp())

    def seconds_left(self, now: datetime) -> int:
        """Whole seconds until the window ends (rounded up, at least 1); 0 for a lifetime budget."""
        if self.end is None:
            return 0
        return max(1, int(-(-(self.end - now).total_seconds() // 1)))


def canonical(duration: str) -> str:
    """The duration as it is stored ("1w" → "7d", "1mo" → "30d"); ValueError naming the accepted forms."""
    match = DURATION_PATTERN.fullmatch(duration.strip().lower()) if isinstance(duration, str) else None
    if match is None:
        raise ValueError(f"{duration!r} is not a duration; use {DURATIONS_HELP}")
    count, unit = int(match.group(1)), match.group(2)
    if unit in _DIVIDES and _DIVIDES[unit] % count == 0:
        return f"{count}{unit}"
    if (count, unit) == (1, "d"):
        return "1d"
    if (count, unit) in ((7, "d"), (1, "w")):
        return "7d"
    if (count, unit) in ((30, "d"), (1, "mo")):
        return "30d"
    raise ValueError(f"{duration!r} cannot be aligned to the calendar; use {DURATIONS_HELP}")


def window(duration: str | None, now: datetime) -> Window:
    """The window of `duration` (canonical, or None for lifetime) that contains `now`."""
    if duration is None:
        return Window(datetime.fromtimestamp(LIFETIME_START, timezone.utc), None)
    now = now.astimezone(timezone.utc)
    midnight = now.replace(**_UTC_MIDNIGHT)
    count, unit = int(duration[:-1]), duration[-1]
    if unit in _STEP_SECONDS:
        step = count * _STEP_SECONDS[unit]
        start = midnight + timedelta(seconds=(now - midnight).total_seconds() // step * step)
        return Window(start, start + timedelta(seconds=step))
    if duration == "1d":
        return Window(midnight, midnight + timedelta(days=1))
    if duration == "7d":
        monday = midnight - timedelta(days=now.weekday())
        return Window(monday, monday + timedelta(days=7))
    first = midnight.replace(day=1)
    following = first.replace(year=first.year + 1, month=1) if first.month == 12 else first.replace(month=first.month + 1)
    return Window(first, following)
