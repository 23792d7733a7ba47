"""Budget windows: durations accepted or refused, and the calendar-aligned UTC window around a moment."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from adapter.keys.window import canonical, window
from litellm.litellm_core_utils.duration_parser import get_next_standardized_reset_time

UTC = timezone.utc


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize("given, stored", [("30s", "30s"), ("1s", "1s"), ("60s", "60s"), ("10m", "10m"),
                                           ("1h", "1h"), ("6H", "6h"), ("24h", "24h"), ("1d", "1d"), ("7d", "7d"),
                                           ("1w", "7d"), ("30d", "30d"), ("1mo", "30d"), (" 1d ", "1d")])
def test_accepted_durations_are_stored_canonically(given, stored):
    assert canonical(given) == stored


@pytest.mark.parametrize("duration", ["45s", "7m", "5h", "2d", "14d", "2w", "3mo", "0s", "1y", "", "d", "1.5h",
                                      "-1d", "monthly"])
def test_durations_that_cannot_align_to_the_calendar_are_refused_with_the_accepted_ones(duration):
    with pytest.raises(ValueError) as refused:
        canonical(duration)
    assert "30s" in str(refused.value) and "30d" in str(refused.value) and "lifetime" in str(refused.value)


@pytest.mark.parametrize("duration, now, start, end", [
    ("30s", "2026-12-07T10:15:44.5", "2026-12-07T10:15:30", "2026-12-07T10:16:00"),
    ("30s", "2026-12-07T23:59:59", "2026-12-07T23:59:30", "2026-12-08T00:00:00"),
    ("10m", "2026-12-07T10:15:44", "2026-12-07T10:10:00", "2026-12-07T10:20:00"),
    ("1h", "2026-12-07T10:15:44", "2026-12-07T10:00:00", "2026-12-07T11:00:00"),
    ("6h", "2026-12-07T23:00:00", "2026-12-07T18:00:00", "2026-12-08T00:00:00"),
    ("1d", "2026-12-07T00:00:00", "2026-12-07T00:00:00", "2026-12-08T00:00:00"),
    ("1d", "2026-12-31T23:59:59.999", "2026-12-31T00:00:00", "2027-01-01T00:00:00"),
    ("7d", "2026-12-07T12:00:00", "2026-12-07T00:00:00", "2026-12-14T00:00:00"),  # a Monday
    ("7d", "2026-12-06T23:59:59", "2026-11-30T00:00:00", "2026-12-07T00:00:00"),  # the Sunday before it
    ("30d", "2026-12-07T12:00:00", "2026-12-01T00:00:00", "2027-01-01T00:00:00"),
    ("30d", "2027-02-28T23:00:00", "2027-02-01T00:00:00", "2027-03-01T00:00:00"),
    ("30d", "2028-02-29T01:00:00", "2028-02-01T00:00:00", "2028-03-01T00:00:00"),
])
def test_the_window_around_a_moment(duration, now, start, end):
    current = window(duration, at(now))
    assert (current.start, current.end) == (at(start), at(end))
    assert current.key == int(at(start).timestamp())


@pytest.mark.parametrize("duration", ["30s", "10m", "1h", "6h", "1d", "7d", "30d"])
@pytest.mark.parametrize("now", ["2026-12-07T10:15:44.5", "2026-12-31T23:59:59", "2027-03-15T05:00:00.000001"])
def test_windows_end_where_litellms_standardized_budget_resets_land(duration, now):
    assert window(duration, at(now)).end == get_next_standardized_reset_time(duration, at(now), "UTC")


def test_a_moment_in_another_zone_falls_in_its_utc_window():
    seoul = timezone(timedelta(hours=9))
    assert window("1d", datetime(2026, 12, 8, 8, 0, tzinfo=seoul)).start == at("2026-12-07T00:00:00")


def test_a_lifetime_window_never_ends():
    current = window(None, at("2026-12-07T10:00:00"))
    assert current.end is None and current.key == 0
    assert current.seconds_left(at("2026-12-07T10:00:00")) == 0


def test_seconds_left_round_up_and_are_at_least_one():
    current = window("30s", at("2026-12-07T10:15:44.5"))
    assert current.seconds_left(at("2026-12-07T10:15:44.5")) == 16
    assert current.seconds_left(at("2026-12-07T10:15:59.999")) == 1
    assert current.seconds_left(at("2026-12-07T10:15:30")) == 30
