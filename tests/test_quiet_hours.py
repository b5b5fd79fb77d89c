"""Quiet hours hold every delivery: scheduled posts, retries, rows deferred for a rate limit, and
rows that were due before the quiet hours began. Real ledger, fake sender, hand-moved clock."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from clocks import INSTANTS, ManualClock
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from ledger_helpers import FakeSender, SpyRenderer, engine_for, ledger, part_of, plan, publish, scheduled
from sample_digests import VOCABULARY

from bot.commands.model import Caller, ChatRef, Command
from bot.commands.service import CommandService
from bot.core.schedule import QuietHours, after_quiet, quiet_until
from bot.delivery.config import RateLimits
from bot.delivery.outcome import Outcome, RetryAfter, Transient
from bot.delivery.scheduler import Scheduler
from bot.platforms.registry import default_renderers
from bot.store.db import Store

QUIET = "22:00-07:00"  # local time: UTC for the chats `plan` subscribes
MORNING = datetime(2025, 6, 2, 7, 0, tzinfo=UTC)


def at(hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(2025, 6, 1, hour, minute, second, tzinfo=UTC)


async def _quiet_chat(store: Store, chat: str, *, parts: int = 2, kind: str = "private") -> None:
    """`chat` subscribed with quiet hours and a digest's rows planned for it (due now)."""
    ids = await plan(store, [chat], parts=parts, kind=kind)
    await store.update_subscription(ids[chat], quiet=QUIET)


WALL = st.times().map(lambda t: t.replace(second=0, microsecond=0))
ZONE_NAMES = st.sampled_from(
    ["America/New_York", "Europe/Berlin", "Asia/Shanghai", "Australia/Lord_Howe", "America/Santiago", "UTC"]
)


@settings(max_examples=100, deadline=None)
@given(start=WALL, end=WALL, moment=INSTANTS, zone=ZONE_NAMES)
def test_a_held_row_goes_at_the_first_moment_the_quiet_hours_allow(
    start: time, end: time, moment: datetime, zone: str
) -> None:
    """Whatever the zone and its DST jumps: a row held by the claim is never held a second time."""
    assume(start != end)
    quiet = f"{start:%H:%M}-{end:%H:%M}"
    held = after_quiet(quiet, zone, moment)
    period, tz = QuietHours.parse(quiet), ZoneInfo(zone)
    assert (held == moment) == (quiet_until(period, moment, tz) is None)
    assert moment <= held <= moment + timedelta(days=1, hours=1)
    assert quiet_until(period, held, tz) is None


def _next_attempt(store: Store, chat: str, part: int) -> datetime:
    return datetime.fromisoformat(ledger(store)[chat, part]["next_attempt_at"])


@pytest.mark.parametrize(
    ("start", "outcome", "wait"),
    [
        (at(21, 59, 58), Transient("502 bad gateway"), 10),  # back-off of 5-10 s lands after 22:00
        (at(21, 55), RetryAfter(600), 600),
    ],
    ids=["transient", "retry-after"],
)
async def test_a_retry_falling_inside_quiet_hours_waits_for_their_end(
    tmp_path: Path, start: datetime, outcome: Outcome, wait: float
) -> None:
    clock = ManualClock(start)
    async with await Store.open(tmp_path / "bot.db", clock=clock) as store:
        await _quiet_chat(store, "1")
        sender = FakeSender(script={"1": [outcome]})
        engine = engine_for(store, sender, clock)
        await engine.drain(horizon=0)
        assert len(sender.calls) == 1 and ledger(store)["1", 1]["state"] == "pending"
        await clock.advance(wait)
        await engine.drain(horizon=0)
        assert len(sender.calls) == 1  # the retry is due, but inside the quiet hours
        assert _next_attempt(store, "1", 1) == MORNING
        clock.offset = (MORNING - start).total_seconds()
        await engine.drain(horizon=0)
        assert [part_of(text) for text in sender.sent_to("1")] == [1, 1, 2]


async def test_a_row_deferred_for_a_rate_limit_into_quiet_hours_waits_for_their_end(tmp_path: Path) -> None:
    clock = ManualClock(at(21, 59, 58))
    async with await Store.open(tmp_path / "bot.db", clock=clock) as store:
        await _quiet_chat(store, "-5", kind="supergroup")
        telegram = RateLimits(global_per_second=30, per_chat_per_second=1, per_group_per_minute=20)
        sender = FakeSender()
        engine = engine_for(store, sender, clock, limits={"telegram": telegram})
        await engine.drain(horizon=0)
        assert _next_attempt(store, "-5", 2) == at(22, 0, 1)  # part 2 waits 3 s for the group limit
        await clock.advance(3)
        await engine.drain(horizon=0)
        assert [part_of(text) for text in sender.sent_to("-5")] == [1]
        assert _next_attempt(store, "-5", 2) == MORNING


async def test_rows_due_before_quiet_hours_began_wait_and_keep_their_order(tmp_path: Path) -> None:
    """A backlog that runs into the night, or quiet hours set after the rows were planned."""
    clock = ManualClock(at(21, 0))
    async with await Store.open(tmp_path / "bot.db", clock=clock) as store:
        ids = await plan(store, ["quiet", "loud"], parts=2)
        await store.update_subscription(ids["quiet"], quiet="20:00-07:00")
        sender = FakeSender()
        engine = engine_for(store, sender, clock)
        await engine.drain(horizon=0)
        assert sender.sent_to("quiet") == [] and len(sender.sent_to("loud")) == 2
        rows = ledger(store)
        assert rows["quiet", 1]["state"] == rows["quiet", 2]["state"] == "pending"
        assert _next_attempt(store, "quiet", 1) == MORNING
        assert await store.claim_due(at(23, 0), 10, ["telegram"]) == []  # the held row does not block
        clock.offset = (MORNING - at(21, 0)).total_seconds()
        await engine.drain(horizon=0)
        assert [part_of(text) for text in sender.sent_to("quiet")] == [1, 2]


async def test_a_scheduled_post_inside_quiet_hours_goes_out_when_they_end(tmp_path: Path) -> None:
    # 07:00 in New York on 2025-03-08; the post is due at 23:00 EST, quiet hours end at 07:00 EDT
    # the next morning (DST began at 02:00 in between).
    clock = ManualClock(datetime(2025, 3, 8, 12, 0, tzinfo=UTC))
    async with await Store.open(tmp_path / "bot.db", clock=clock) as store:
        sub = await scheduled(store, schedule="at 23:00", quiet=QUIET)
        await publish(store, "d1")
        await clock.advance(16 * 3600)  # 23:00 EST = 04:00 UTC
        scheduler = Scheduler(store, VOCABULARY, renderers={"telegram": SpyRenderer(2)}, clock=clock)
        assert await scheduler.run_due() == 2
        assert [r.subscription_id for r in await store.claim_due(clock.now(), 10, ["telegram"])] == []
        end = datetime(2025, 3, 9, 11, 0, tzinfo=UTC)
        [part1, part2] = [datetime.fromisoformat(r["next_attempt_at"]) for r in ledger(store).values()]
        assert part1 == part2 == end
        assert [r.subscription_id for r in await store.claim_due(end, 10, ["telegram"])] == [sub]


async def test_help_and_the_quiet_reply_say_that_quiet_hours_hold_every_message(tmp_path: Path) -> None:
    async with await Store.open(tmp_path / "bot.db") as store:
        service = CommandService(store, VOCABULARY, default_timezone="UTC", renderers=default_renderers())
        chat = ChatRef("telegram", "42", None, kind="private", title="Ann")

        async def reply(language: str, name: str, *args: str) -> str:
            answer = await service.handle(Command(name, args, chat, Caller("42", language=language)))
            assert not answer.error
            return answer.text

        help_en, help_zh = await reply("en", "help"), await reply("zh", "help")
        assert "quiet hours: nothing is sent then, scheduled posts and retries included" in help_en
        assert "定时推送、重试也一样" in help_zh
        await reply("en", "subscribe")
        assert "scheduled posts included, go out when they end" in await reply("en", "quiet", "22:00-07:00")
