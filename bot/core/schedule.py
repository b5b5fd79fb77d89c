"""When a subscription may receive messages: its schedule, its quiet hours and its time zone.

Everything here is pure wall-clock arithmetic on aware datetimes, so the scheduler can store the
next due instant (UTC) in the database and tests can cover DST transitions without sleeping.
DST rules: a scheduled local time that does not exist (spring-forward gap) fires at the first
instant after the gap; a local time that occurs twice (fall-back) fires once, at its first occurrence.
A weekly schedule (`weekly Mon 09:00`) follows the same rules on its one day of the week.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from bot.core.problems import Problem, Term

MAX_TIMES = 24
_TIME = re.compile(r"(\d{1,2})[:：](\d{2})")
_AT = re.compile(r"at(?:\s+(.*))?", re.IGNORECASE | re.DOTALL)
_SEPARATORS = re.compile(r"[,，、\s]+")
# "weekly Mon 09:00", "每周 周一 09:00", and "每周一 09:00" (每 directly before the day's name)
_WEEKLY = re.compile(r"(?:weekly|每周|每(?=周|星期))(?=[,，、\s]|$|周|星期)(.*)", re.IGNORECASE | re.DOTALL)
_SCHEDULE_HELP = Term("schedule_help")
DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_ZH_DAYS = "一二三四五六日"
_EN_DAYS = (
    ("mon", "monday"),
    ("tue", "tues", "tuesday"),
    ("wed", "wednesday"),
    ("thu", "thur", "thurs", "thursday"),
    ("fri", "friday"),
    ("sat", "saturday"),
    ("sun", "sunday"),
)
_WEEKDAYS: dict[str, int] = {
    **{name: day for day, names in enumerate(_EN_DAYS) for name in names},
    **{f"{prefix}{char}": day for day, char in enumerate(_ZH_DAYS) for prefix in ("周", "星期")},
    "周天": 6,
    "星期天": 6,
}


def _parse_time(text: str, what: str) -> time:
    """One ``H:MM``/``HH:MM`` wall-clock time; the error names the offending text. `what` is a Term."""
    cleaned = text.strip()
    match = _TIME.fullmatch(cleaned)
    if match is None:
        raise Problem("time_format", what=Term(what), text=cleaned)
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour > 23:
        raise Problem("time_hour", what=Term(what), text=cleaned)
    if minute > 59:
        raise Problem("time_minute", what=Term(what), text=cleaned)
    return time(hour, minute)


def _check_wall_time(value: time) -> None:
    if value.tzinfo is not None or value.second or value.microsecond:
        raise ValueError(f"schedule times are whole local minutes without a time zone, got {value!r}")


@dataclass(frozen=True, slots=True)
class Schedule:
    """Instant delivery (no times), delivery at fixed local times (kept sorted and unique), or a
    weekly roundup: one time on one `weekday` (0 = Monday, as `date.weekday()`)."""

    times: tuple[time, ...] = ()
    weekday: int | None = None

    def __post_init__(self) -> None:
        for value in self.times:
            _check_wall_time(value)
        if len(set(self.times)) > MAX_TIMES:
            raise ValueError(f"a schedule has at most {MAX_TIMES} times, got {len(set(self.times))}")
        if self.weekday is not None and (self.weekday not in range(7) or len(set(self.times)) != 1):
            raise ValueError(f"a weekly schedule is one time on a day 0-6, got {self.weekday} {self.times}")
        object.__setattr__(self, "times", tuple(sorted(set(self.times))))

    @property
    def is_instant(self) -> bool:
        return not self.times

    @property
    def is_weekly(self) -> bool:
        return self.weekday is not None

    def __str__(self) -> str:
        if self.is_instant:
            return "instant"
        if self.weekday is not None:
            return f"weekly {DAY_NAMES[self.weekday]} {self.times[0]:%H:%M}"
        return "at " + ",".join(t.strftime("%H:%M") for t in self.times)


INSTANT = Schedule()


def parse_schedule(text: str) -> Schedule:
    """Parse ``instant``, ``at HH:MM[,HH:MM...]`` (case-insensitive; commas and/or spaces between)
    or ``weekly DAY HH:MM`` (see `parse_weekly`)."""
    cleaned = text.strip()
    if not cleaned:
        raise Problem("schedule_empty", help=_SCHEDULE_HELP)
    if cleaned.casefold() == "instant":
        return INSTANT
    weekly = _WEEKLY.fullmatch(cleaned)
    if weekly is not None:
        return parse_weekly(weekly.group(1), cleaned)
    match = _AT.fullmatch(cleaned)
    if match is None:
        raise Problem("schedule_unknown", text=cleaned, help=_SCHEDULE_HELP)
    parts = [p for p in _SEPARATORS.split(match.group(1) or "") if p]
    if not parts:
        raise Problem("schedule_no_times", text=cleaned, help=_SCHEDULE_HELP)
    times = {_parse_time(part, "time") for part in parts}
    if len(times) > MAX_TIMES:
        raise Problem("schedule_too_many", count=len(times), limit=MAX_TIMES)
    return Schedule(tuple(times))


def parse_weekly(rest: str, whole: str) -> Schedule:
    """The ``DAY HH:MM`` after ``weekly`` (either order): Mon/Monday.. (any case), 周一..周日/周天,
    星期一..星期日/星期天. `whole` is the user's full text, for the error message."""
    parts = [p for p in _SEPARATORS.split(rest) if p]
    if len(parts) > 2:
        raise Problem("weekly_too_many", text=whole)
    if len(parts) < 2:
        raise Problem("weekly_format", text=whole, help=_SCHEDULE_HELP)
    day_text, time_text = reversed(parts) if _TIME.fullmatch(parts[0]) else parts
    day = _WEEKDAYS.get(day_text.casefold())
    if day is None:
        raise Problem("weekday_unknown", text=day_text)
    return Schedule((_parse_time(time_text, "time"),), weekday=day)


def _local(day: date, wall: time, tz: tzinfo, fold: int = 0) -> datetime:
    return datetime.combine(day, wall, tzinfo=tz).replace(fold=fold)


def _exists(moment: datetime) -> bool:
    """False for a wall time inside a spring-forward gap (it does not survive a UTC round trip)."""
    back = moment.astimezone(UTC).astimezone(moment.tzinfo)
    return back.replace(tzinfo=None, fold=0) == moment.replace(tzinfo=None, fold=0)


def _gap_end(moment: datetime) -> datetime:
    """The first real instant after the gap that swallowed `moment`, found by bisecting UTC seconds.

    zoneinfo exposes no transition table; fold=1 and fold=0 map a gap time to UTC instants on either
    side of the transition, and the offset changes exactly once between them.
    """
    low = moment.replace(fold=1).astimezone(UTC)
    high = moment.replace(fold=0).astimezone(UTC)
    if low > high:
        low, high = high, low
    tz = moment.tzinfo
    before = low.astimezone(tz).utcoffset()
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        middle = middle.replace(microsecond=0)
        if middle <= low:
            break
        if middle.astimezone(tz).utcoffset() == before:
            low = middle
        else:
            high = middle
    return high


def _instants(day: date, wall: time, tz: tzinfo, *, both_folds: bool) -> list[datetime]:
    """The UTC instants at which `wall` happens on `day` in `tz` (gap times resolved to the gap's end)."""
    first = _local(day, wall, tz)
    if not _exists(first):
        return [_gap_end(first)]
    result = [first.astimezone(UTC)]
    if both_folds:
        second = _local(day, wall, tz, fold=1).astimezone(UTC)
        if second != result[0]:
            result.append(second)
    return result


def _next_wall(
    wall: time, after: datetime, tz: tzinfo, *, both_folds: bool, weekday: int | None = None
) -> datetime:
    """The first instant strictly after `after` at which local wall time `wall` happens (on
    `weekday` only, when given)."""
    start = after.astimezone(tz).date()
    for offset in range(-1, 4 if weekday is None else 9):
        day = start + timedelta(days=offset)
        if weekday is not None and day.weekday() != weekday:
            continue
        for instant in _instants(day, wall, tz, both_folds=both_folds):
            if instant > after:
                return instant
    raise ValueError(f"no occurrence of {wall:%H:%M} in {tz} within days of {after.isoformat()}")


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime, got naive {value.isoformat()}")


def next_due(schedule: Schedule, after: datetime, tz: tzinfo) -> datetime | None:
    """The first scheduled local time strictly after `after`, as aware UTC; None for instant delivery."""
    _require_aware(after, "after")
    if schedule.is_instant:
        return None
    return min(_next_wall(t, after, tz, both_folds=False, weekday=schedule.weekday) for t in schedule.times)


SILENT_WORDS = frozenset({"silent", "静音"})
_SILENT_SUFFIX = re.compile(r"^(.*?)\s+(\S+)$", re.DOTALL)


@dataclass(frozen=True, slots=True)
class QuietHours:
    """A daily local period without messages, start inclusive, end exclusive; may wrap midnight.
    `silent`: messages still go out then, without a notification, instead of being held."""

    start: time
    end: time
    silent: bool = False

    def __post_init__(self) -> None:
        _check_wall_time(self.start)
        _check_wall_time(self.end)
        if self.start == self.end:
            raise ValueError(f"quiet hours {self} start and end at the same time")

    @classmethod
    def parse(cls, text: str) -> QuietHours:
        """Parse ``HH:MM-HH:MM`` such as ``22:00-07:00`` (an en dash or ``~`` also works), optionally
        followed by ``silent`` (or ``静音``)."""
        cleaned = text.strip()
        silent = False
        suffix = _SILENT_SUFFIX.match(cleaned)
        if suffix is not None and suffix.group(2).casefold() in SILENT_WORDS:
            cleaned, silent = suffix.group(1).strip(), True
        parts = re.split(r"\s*[-–~～]\s*", cleaned)
        if len(parts) != 2 or not all(parts):
            raise Problem("quiet_format", text=cleaned)
        start = _parse_time(parts[0], "quiet_start")
        end = _parse_time(parts[1], "quiet_end")
        if start == end:
            raise Problem("quiet_same", text=cleaned)
        return cls(start, end, silent)

    def __str__(self) -> str:
        hours = f"{self.start:%H:%M}-{self.end:%H:%M}"
        return f"{hours} silent" if self.silent else hours

    def contains(self, wall: time) -> bool:
        """Whether local wall time `wall` falls inside the quiet period."""
        if self.start < self.end:
            return self.start <= wall < self.end
        return wall >= self.start or wall < self.end


def quiet_until(quiet: QuietHours | None, at: datetime, tz: tzinfo) -> datetime | None:
    """If `at` falls inside the quiet hours, the aware UTC instant they end; otherwise None."""
    _require_aware(at, "at")
    if quiet is None:
        return None
    wall = at.astimezone(tz).time().replace(tzinfo=None)
    if not quiet.contains(wall):
        return None
    return _next_wall(quiet.end, at, tz, both_folds=True)


@lru_cache(maxsize=256)
def _stored_quiet(text: str) -> QuietHours:
    return QuietHours.parse(text)


def after_quiet(quiet: str | None, timezone: str, at: datetime) -> datetime:
    """`at`, or the end of the quiet hours it falls in: the first moment a message may go out.

    Takes quiet hours and zone as the subscriptions table stores them, so every place that sets a
    send time (fan-out, scheduled posts, the outbox's claim) shares one rule. Silent quiet hours
    hold nothing (see `silenced`).
    """
    if quiet is None:
        return at
    hours = _stored_quiet(quiet)
    if hours.silent:
        return at
    return quiet_until(hours, at, ZoneInfo(timezone)) or at


def silenced(quiet: str | None, timezone: str, at: datetime) -> bool:
    """Whether a message sent at `at` goes without a notification: silent quiet hours are on. Decided
    as the outbox hands the row out, like holding, so a backlog running into the night is silenced."""
    if quiet is None:
        return False
    hours = _stored_quiet(quiet)
    return hours.silent and quiet_until(hours, at, ZoneInfo(timezone)) is not None


@lru_cache(maxsize=1)
def _zones_by_folded_name() -> dict[str, str]:
    return {name.casefold(): name for name in available_timezones()}


def parse_timezone(name: str) -> ZoneInfo:
    """An IANA zone by name (``Asia/Shanghai``); a wrongly cased name is accepted, unknown ones raise."""
    cleaned = name.strip()
    if not cleaned:
        raise Problem("zone_empty")
    try:
        return ZoneInfo(cleaned)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        proper = _zones_by_folded_name().get(cleaned.casefold())
        if proper is not None:
            return ZoneInfo(proper)
    raise Problem("zone_unknown", name=cleaned)
