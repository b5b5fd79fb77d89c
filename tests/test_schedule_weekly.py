"""`/schedule weekly DAY HH:MM`: parsing in English and Chinese, clear refusals, next due across DST."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.commands.reports import schedule_text
from bot.core.problems import Problem
from bot.core.schedule import Schedule, next_due, parse_schedule

BERLIN = ZoneInfo("Europe/Berlin")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("weekly Mon 09:00", "weekly Mon 09:00"),
        ("  WEEKLY monday 9:00 ", "weekly Mon 09:00"),
        ("weekly 09:00 Fri", "weekly Fri 09:00"),  # either order
        ("weekly thurs 18:30", "weekly Thu 18:30"),
        ("weekly 周一 09:00", "weekly Mon 09:00"),
        ("weekly 周日 23:59", "weekly Sun 23:59"),
        ("weekly 周天 07:00", "weekly Sun 07:00"),
        ("每周 星期三 12：00", "weekly Wed 12:00"),  # full-width colon, as Chinese keyboards type it
        ("每周一 09:00", "weekly Mon 09:00"),
        ("每星期六 08:15", "weekly Sat 08:15"),
        ("weekly, Tue, 10:00", "weekly Tue 10:00"),
    ],
)
def test_weekly_schedules_parse_to_one_canonical_form(text: str, canonical: str) -> None:
    schedule = parse_schedule(text)
    assert str(schedule) == canonical
    assert schedule.is_weekly and not schedule.is_instant
    assert parse_schedule(str(schedule)) == schedule  # what the database stores reads back the same


@pytest.mark.parametrize(
    ("text", "code", "en", "zh"),
    [
        ("weekly", "weekly_format", "needs a day and a time", "需要写星期几和时间"),
        ("weekly Mon", "weekly_format", "needs a day and a time", "需要写星期几和时间"),
        ("weekly Funday 09:00", "weekday_unknown", 'unknown day "Funday"', "无法识别的星期“Funday”"),
        ("weekly 周八 09:00", "weekday_unknown", 'unknown day "周八"', "无法识别的星期“周八”"),
        ("weekly Mon 25:00", "time_hour", "the hour must be 00-23", "小时应为 00-23"),
        ("weekly Mon 9am", "time_format", 'invalid time "9am"', "时间“9am”无效"),
        ("weekly Mon 09:60", "time_minute", "the minutes must be 00-59", "分钟应为 00-59"),
        ("weekly Mon Tue 09:00", "weekly_too_many", "more than one day and one time", "只能有一个"),
        ("weekly Mon 09:00 10:00", "weekly_too_many", "more than one day and one time", "只能有一个"),
        ("weeklyMon 09:00", "schedule_unknown", "weekly DAY HH:MM", "weekly 星期 HH:MM"),
    ],
)
def test_bad_weekly_schedules_are_refused_in_both_languages(text: str, code: str, en: str, zh: str) -> None:
    with pytest.raises(Problem) as caught:
        parse_schedule(text)
    assert caught.value.code == code
    assert en in caught.value.localized("en")
    assert zh in caught.value.localized("zh")


def test_a_weekly_schedule_is_one_time_on_one_day() -> None:
    with pytest.raises(ValueError, match="one time on a day"):
        Schedule((), weekday=0)
    with pytest.raises(ValueError, match="one time on a day"):
        Schedule((parse_schedule("at 09:00").times[0],), weekday=7)


MONDAY_9 = parse_schedule("weekly Mon 09:00")


@pytest.mark.parametrize(
    ("after", "expected"),
    [
        # spring: Berlin moves to CEST on Sunday 2026-03-29; 09:00 local is 08:00 UTC before, 07:00 after
        (utc(2026, 3, 23, 7, 59), utc(2026, 3, 23, 8, 0)),
        (utc(2026, 3, 23, 8, 0), utc(2026, 3, 30, 7, 0)),  # strictly after: the next week, 167 h later
        # autumn: back to CET on Sunday 2026-10-25; 09:00 local is 07:00 UTC before, 08:00 after
        (utc(2026, 10, 19, 7, 0), utc(2026, 10, 26, 8, 0)),
        (utc(2026, 10, 21, 12, 0), utc(2026, 10, 26, 8, 0)),  # from mid-week
        (utc(2026, 10, 26, 7, 59), utc(2026, 10, 26, 8, 0)),  # Monday morning before the time
    ],
)
def test_weekly_next_due_stays_at_local_nine_across_dst(after: datetime, expected: datetime) -> None:
    due = next_due(MONDAY_9, after, BERLIN)
    assert due == expected
    assert due is not None and due.astimezone(BERLIN).strftime("%a %H:%M") == "Mon 09:00"


def test_weekly_time_in_the_gap_or_the_fold_follows_the_daily_rules() -> None:
    sunday = parse_schedule("weekly Sun 02:30")
    # 02:30 does not exist on 2026-03-29 in Berlin: it fires when the gap ends (03:00 CEST = 01:00 UTC)
    assert next_due(sunday, utc(2026, 3, 28, 0, 0), BERLIN) == utc(2026, 3, 29, 1, 0)
    # 02:30 happens twice on 2026-10-25: once, at the first (CEST, 00:30 UTC) ...
    assert next_due(sunday, utc(2026, 10, 24, 0, 0), BERLIN) == utc(2026, 10, 25, 0, 30)
    # ... and the second 02:30 (01:30 UTC) does not fire again: next is a week later
    assert next_due(sunday, utc(2026, 10, 25, 0, 30), BERLIN) == utc(2026, 11, 1, 1, 30)


def test_status_shows_the_weekly_schedule_in_words() -> None:
    assert schedule_text("weekly Mon 09:00", "en") == "weekly roundup every Monday at 09:00"
    assert schedule_text("weekly Sun 20:30", "zh") == "每周日 20:30，一周回顾"
