"""Schedules, quiet hours and time zones, including both DST directions and zones without DST."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from clocks import INSTANTS
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.schedule import (
    INSTANT,
    MAX_TIMES,
    QuietHours,
    Schedule,
    next_due,
    parse_schedule,
    parse_timezone,
    quiet_until,
)

NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
SHANGHAI = ZoneInfo("Asia/Shanghai")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- parse_schedule ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("instant", "instant"),
        ("  INSTANT ", "instant"),
        ("at 08:00", "at 08:00"),
        ("at 8:00, 20:30", "at 08:00,20:30"),
        ("At 20:30,8:00", "at 08:00,20:30"),
        ("at 08:00 20:30", "at 08:00,20:30"),
        ("at 23:59，0:00", "at 00:00,23:59"),
        ("at 08:00, 08:00", "at 08:00"),
    ],
)
def test_parse_schedule_canonical_text(text: str, canonical: str) -> None:
    schedule = parse_schedule(text)
    assert str(schedule) == canonical
    assert parse_schedule(str(schedule)) == schedule


def test_instant_schedule() -> None:
    assert parse_schedule("instant") is INSTANT
    assert INSTANT.is_instant
    assert next_due(INSTANT, utc(2025, 1, 1), SHANGHAI) is None


def test_schedule_times_are_sorted_and_unique() -> None:
    schedule = Schedule((time(20, 30), time(8, 0), time(20, 30)))
    assert schedule.times == (time(8, 0), time(20, 30))
    assert not schedule.is_instant


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("daily", '"daily"'),
        ("at", "no times"),
        ("at ,", "no times"),
        ("at 8", '"8"'),
        ("at 24:00", '"24:00"'),
        ("at 8:60", '"8:60"'),
        ("at 08:00, noon", '"noon"'),
        ("at 8:0", '"8:0"'),
        ("at8:00", '"at8:00"'),
        ("at -1:00", '"-1:00"'),
    ],
)
def test_parse_schedule_rejects_bad_input_naming_it(text: str, named: str) -> None:
    with pytest.raises(ValueError, match=named):
        parse_schedule(text)


def test_parse_schedule_rejects_too_many_times() -> None:
    times = ", ".join(f"{h:02d}:{m:02d}" for h in range(24) for m in (0, 30))
    with pytest.raises(ValueError, match=f"at most {MAX_TIMES}"):
        parse_schedule(f"at {times}")
    assert len(parse_schedule("at " + ",".join(f"{h}:00" for h in range(24))).times) == 24


@pytest.mark.parametrize("bad", [time(8, 0, 30), time(8, 0, tzinfo=UTC), time(8, 0, 0, 5)])
def test_schedule_rejects_non_minute_or_aware_times(bad: time) -> None:
    with pytest.raises(ValueError, match="whole local minutes"):
        Schedule((bad,))


# --- next_due ---------------------------------------------------------------------------------


def test_next_due_same_day_and_next_day_in_shanghai() -> None:
    schedule = parse_schedule("at 08:00, 20:00")
    # 2025-01-01 09:00 in Shanghai (UTC+8, no DST) -> 20:00 local = 12:00 UTC.
    assert next_due(schedule, utc(2025, 1, 1, 1, 0), SHANGHAI) == utc(2025, 1, 1, 12, 0)
    # 21:00 local -> next morning 08:00 local = 00:00 UTC.
    assert next_due(schedule, utc(2025, 1, 1, 13, 0), SHANGHAI) == utc(2025, 1, 2, 0, 0)


def test_next_due_is_strictly_after() -> None:
    schedule = parse_schedule("at 08:00")
    exactly = utc(2025, 6, 1, 0, 0)  # 08:00 in Shanghai
    assert next_due(schedule, exactly, SHANGHAI) == utc(2025, 6, 2, 0, 0)
    assert next_due(schedule, exactly - timedelta(microseconds=1), SHANGHAI) == exactly


def test_next_due_returns_utc() -> None:
    due = next_due(parse_schedule("at 09:00"), datetime(2025, 6, 1, tzinfo=SHANGHAI), SHANGHAI)
    assert due is not None
    assert due.tzinfo is UTC


def test_next_due_rejects_naive_after() -> None:
    with pytest.raises(ValueError, match="aware"):
        next_due(parse_schedule("at 09:00"), datetime(2025, 6, 1), SHANGHAI)


def test_spring_forward_new_york_gap_time_fires_at_gap_end() -> None:
    # 2025-03-09: 02:00 EST jumps to 03:00 EDT (07:00 UTC); 02:30 does not exist.
    schedule = parse_schedule("at 02:30")
    assert next_due(schedule, utc(2025, 3, 9, 5, 0), NEW_YORK) == utc(2025, 3, 9, 7, 0)
    # The day after, 02:30 EDT = 06:30 UTC again.
    assert next_due(schedule, utc(2025, 3, 9, 7, 0), NEW_YORK) == utc(2025, 3, 10, 6, 30)


def test_spring_forward_times_around_the_gap() -> None:
    schedule = parse_schedule("at 01:30, 03:30")
    assert next_due(schedule, utc(2025, 3, 9, 5, 0), NEW_YORK) == utc(2025, 3, 9, 6, 30)  # 01:30 EST
    assert next_due(schedule, utc(2025, 3, 9, 6, 30), NEW_YORK) == utc(2025, 3, 9, 7, 30)  # 03:30 EDT


def test_fall_back_new_york_ambiguous_time_fires_once_at_first_occurrence() -> None:
    # 2025-11-02: 02:00 EDT falls back to 01:00 EST; 01:30 happens at 05:30 and 06:30 UTC.
    schedule = parse_schedule("at 01:30")
    assert next_due(schedule, utc(2025, 11, 2, 4, 0), NEW_YORK) == utc(2025, 11, 2, 5, 30)
    assert next_due(schedule, utc(2025, 11, 2, 5, 30), NEW_YORK) == utc(2025, 11, 3, 6, 30)


def test_spring_forward_berlin() -> None:
    # 2025-03-30: 02:00 CET jumps to 03:00 CEST (01:00 UTC).
    schedule = parse_schedule("at 02:15, 09:00")
    assert next_due(schedule, utc(2025, 3, 29, 23, 0), BERLIN) == utc(2025, 3, 30, 1, 0)
    assert next_due(schedule, utc(2025, 3, 30, 1, 0), BERLIN) == utc(2025, 3, 30, 7, 0)  # 09:00 CEST


def test_fall_back_berlin() -> None:
    # 2025-10-26: 03:00 CEST falls back to 02:00 CET; 02:30 happens at 00:30 and 01:30 UTC.
    schedule = parse_schedule("at 02:30")
    assert next_due(schedule, utc(2025, 10, 25, 22, 0), BERLIN) == utc(2025, 10, 26, 0, 30)
    assert next_due(schedule, utc(2025, 10, 26, 0, 30), BERLIN) == utc(2025, 10, 27, 1, 30)
    assert next_due(parse_schedule("at 09:00"), utc(2025, 10, 26, 0, 0), BERLIN) == utc(2025, 10, 26, 8, 0)


def test_a_whole_skipped_day() -> None:
    # Samoa skipped 2011-12-30 entirely (UTC-10 -> UTC+14): 08:00 that day fires at the gap's end.
    apia = ZoneInfo("Pacific/Apia")
    schedule = parse_schedule("at 08:00")
    first = next_due(schedule, utc(2011, 12, 29, 20, 0), apia)
    assert first == datetime(2011, 12, 31, 0, 0, tzinfo=apia).astimezone(UTC)
    assert next_due(schedule, first, apia) == datetime(2011, 12, 31, 8, 0, tzinfo=apia).astimezone(UTC)


ZONES = st.sampled_from(
    [NEW_YORK, BERLIN, SHANGHAI, ZoneInfo("Australia/Lord_Howe"), ZoneInfo("America/Santiago"), UTC]
)
TIMES = st.lists(st.times().map(lambda t: t.replace(second=0, microsecond=0)), min_size=1, max_size=6)


@settings(max_examples=200, deadline=None)
@given(times=TIMES, after=INSTANTS, tz=ZONES)
def test_next_due_properties(times: list[time], after: datetime, tz: ZoneInfo) -> None:
    schedule = Schedule(tuple(times))
    due = next_due(schedule, after, tz)
    assert due is not None
    assert due > after
    assert due - after <= timedelta(days=1, hours=1)
    local = due.astimezone(tz)
    wall = local.time().replace(tzinfo=None)
    # Either a scheduled time, or the end of a gap that swallowed one.
    in_gap = local.utcoffset() != (due - timedelta(seconds=1)).astimezone(tz).utcoffset()
    assert wall in schedule.times or in_gap
    # Nothing scheduled was skipped: one second earlier, the next due time is the same.
    assert next_due(schedule, max(after, due - timedelta(seconds=1)), tz) == due


# --- quiet hours ------------------------------------------------------------------------------


def test_quiet_hours_parse_and_str() -> None:
    quiet = QuietHours.parse("22:00-07:00")
    assert quiet == QuietHours(time(22, 0), time(7, 0))
    assert str(quiet) == "22:00-07:00"
    assert QuietHours.parse(" 1:30 – 6:00 ") == QuietHours(time(1, 30), time(6, 0))
    assert QuietHours.parse(str(quiet)) == quiet


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("22:00", "22:00"),
        ("22:00-", "22:00-"),
        ("-07:00", "-07:00"),
        ("22:00-07:00-08:00", "22:00-07:00-08:00"),
        ("25:00-07:00", "quiet hours start"),
        ("22:00-7:75", "quiet hours end"),
        ("07:00-07:00", "same time"),
        ("late-early", '"late"'),
    ],
)
def test_quiet_hours_rejects_bad_input(text: str, named: str) -> None:
    with pytest.raises(ValueError, match=named):
        QuietHours.parse(text)


def test_quiet_hours_constructor_rejects_empty_period() -> None:
    with pytest.raises(ValueError, match="same time"):
        QuietHours(time(7, 0), time(7, 0))


def test_quiet_until_midnight_wrapping_period_in_shanghai() -> None:
    quiet = QuietHours.parse("22:00-07:00")
    # 23:00 local (15:00 UTC) -> quiet until 07:00 next day local (23:00 UTC same day).
    assert quiet_until(quiet, utc(2025, 1, 1, 15, 0), SHANGHAI) == utc(2025, 1, 1, 23, 0)
    # 03:00 local (19:00 UTC previous day) -> 07:00 local the same local day.
    assert quiet_until(quiet, utc(2025, 1, 1, 19, 0), SHANGHAI) == utc(2025, 1, 1, 23, 0)
    # Boundaries: start inclusive, end exclusive.
    assert quiet_until(quiet, utc(2025, 1, 1, 14, 0), SHANGHAI) == utc(2025, 1, 1, 23, 0)
    assert quiet_until(quiet, utc(2025, 1, 1, 23, 0), SHANGHAI) is None
    assert quiet_until(quiet, utc(2025, 1, 1, 4, 0), SHANGHAI) is None  # 12:00 local


def test_quiet_until_non_wrapping_period() -> None:
    quiet = QuietHours.parse("12:00-13:30")
    assert quiet_until(quiet, utc(2025, 1, 1, 4, 15), SHANGHAI) == utc(2025, 1, 1, 5, 30)
    assert quiet_until(quiet, utc(2025, 1, 1, 3, 59), SHANGHAI) is None


def test_quiet_until_none_means_never_quiet() -> None:
    assert quiet_until(None, utc(2025, 1, 1), SHANGHAI) is None


def test_quiet_until_across_dst() -> None:
    quiet = QuietHours.parse("01:00-02:30")
    # Spring forward in New York: 02:30 does not exist, the quiet period ends at 03:00 EDT.
    assert quiet_until(quiet, utc(2025, 3, 9, 6, 30), NEW_YORK) == utc(2025, 3, 9, 7, 0)
    # Fall back: 01:15 EST is the second 01:15; quiet until 02:30 EST (07:30 UTC).
    assert quiet_until(quiet, utc(2025, 11, 2, 6, 15), NEW_YORK) == utc(2025, 11, 2, 7, 30)
    # Berlin fall back: 22:00-07:00 lasts one hour longer that night.
    night = QuietHours.parse("22:00-07:00")
    assert quiet_until(night, utc(2025, 10, 25, 21, 0), BERLIN) == utc(2025, 10, 26, 6, 0)


def test_quiet_until_rejects_naive() -> None:
    with pytest.raises(ValueError, match="aware"):
        quiet_until(QuietHours.parse("22:00-07:00"), datetime(2025, 1, 1), SHANGHAI)


# --- time zones -------------------------------------------------------------------------------


def test_parse_timezone_known_names() -> None:
    assert parse_timezone("Asia/Shanghai") == SHANGHAI
    assert parse_timezone(" UTC ").key == "UTC"
    assert parse_timezone("europe/berlin").key == "Europe/Berlin"


@pytest.mark.parametrize("name", ["Mars/Olympus", "America", "../etc/passwd", "/etc/localtime", "a\x00b"])
def test_parse_timezone_rejects_unknown(name: str) -> None:
    with pytest.raises(ValueError, match="unknown time zone"):
        parse_timezone(name)


def test_parse_timezone_rejects_empty() -> None:
    with pytest.raises(ValueError, match="empty"):
        parse_timezone("  ")
