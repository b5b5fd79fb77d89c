"""Reader options below the platform: silent quiet hours (parsed, stored, decided as rows are claimed),
the pin flag the claim hands the engine and its after_sent follow-up, the store's checks, the
planner's Reading, compact rendering, and the commands on a platform without these options."""

from __future__ import annotations

import logging
import sqlite3
from contextlib import closing
from dataclasses import replace
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any

import pytest
from clocks import ManualClock
from ledger_helpers import FakeSender, SpyRenderer, engine_for, ledger, plan, publish, scheduled, subscribe
from sample_digests import VOCABULARY, incoming, make_digest

from bot.commands.model import Caller, ChatRef, Command
from bot.commands.service import CommandService
from bot.core.problems import Problem
from bot.core.schedule import QuietHours, after_quiet, silenced
from bot.delivery.expander import fan_out
from bot.delivery.outcome import Target, Transient
from bot.delivery.scheduler import Scheduler
from bot.platforms.registry import default_renderers
from bot.platforms.telegram.render import TELEGRAM_TEXT, render_telegram, visible_text
from bot.render.limits import TextLimit
from bot.render.options import RenderOptions
from bot.store.db import Store
from bot.store.deliveries import Delivery, StoredPayload

NIGHT = datetime(2025, 6, 1, 23, 0, tzinfo=UTC)
NOON = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


# -- silent quiet hours ----------------------------------------------------------------------------


def test_silent_quiet_hours_parse_print_and_never_hold() -> None:
    quiet = QuietHours.parse("22:00-07:00 silent")
    assert (quiet.start, quiet.end, quiet.silent) == (time(22), time(7), True)
    assert str(quiet) == "22:00-07:00 silent"
    assert QuietHours.parse(" 22:00 – 07:00  静音 ") == quiet
    assert QuietHours.parse("22:00-07:00") == QuietHours(time(22), time(7))
    with pytest.raises(Problem, match="loud"):
        QuietHours.parse("22:00-07:00 loud")
    with pytest.raises(Problem):
        QuietHours.parse("silent")
    assert after_quiet("22:00-07:00 silent", "UTC", NIGHT) == NIGHT
    assert after_quiet("22:00-07:00", "UTC", NIGHT) > NIGHT
    assert silenced("22:00-07:00 silent", "UTC", NIGHT)
    assert not silenced("22:00-07:00 silent", "UTC", NOON)
    assert not silenced("22:00-07:00", "UTC", NIGHT)  # plain quiet hours hold instead
    assert not silenced(None, "UTC", NIGHT)
    assert silenced("00:00-01:00 silent", "Asia/Shanghai", NIGHT.replace(hour=16, minute=30))


async def test_silent_quiet_rows_are_claimed_with_disable_notification(tmp_path: Path) -> None:
    clock = ManualClock(NIGHT)
    async with await Store.open(tmp_path / "bot.db", clock=clock) as store:
        ids = await plan(store, ["silent", "held", "loud"], parts=2)
        await store.update_subscription(ids["silent"], quiet="22:00-07:00 silent")
        await store.update_subscription(ids["held"], quiet="22:00-07:00")
        sender = FakeSender()
        await engine_for(store, sender, clock).drain(horizon=0)
        silent = [p for t, p in sender.calls if t.chat_id == "silent"]
        loud = [p for t, p in sender.calls if t.chat_id == "loud"]
        assert len(silent) == 2 and all(p["disable_notification"] is True for p in silent)
        assert len(loud) == 2 and not any("disable_notification" in p for p in loud)
        assert sender.sent_to("held") == []
        # the stored body is unchanged: only what this send carries is silenced
        row = ledger(store)["silent", 1]
        with closing(sqlite3.connect(store.path)) as raw:
            [(body,)] = raw.execute("SELECT body FROM payloads WHERE id = ?", (row["payload_id"],))
        assert row["state"] == "sent" and "disable_notification" not in body
        clock.offset = 11 * 3600.0  # 10:00: the same rows, were they sent now, would notify
        assert not silenced("22:00-07:00 silent", "UTC", clock.now())


# -- the pin flag and the engine's follow-up -------------------------------------------------------


class PinningSender(FakeSender):
    """A FakeSender with the optional `after_sent` follow-up; can fail it on purpose."""

    def __init__(self, fail: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.followed: list[tuple[str, int, str]] = []
        self.fail = fail

    async def after_sent(self, target: Target, delivery: Delivery, message_id: str) -> None:
        self.followed.append((target.chat_id, delivery.part, message_id))
        if self.fail:
            raise RuntimeError("pin exploded")


async def test_only_the_first_sent_part_of_a_pinning_subscription_is_followed_up(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = ManualClock(NOON)
    async with await Store.open(tmp_path / "bot.db", clock=clock) as store:
        ids = await plan(store, ["-100pin", "-100nopin", "-100retry"], parts=3, kind="channel")
        for chat in ("-100pin", "-100retry"):
            await store.set_reader_option(ids[chat], "pin", True)
        claimed = await store.claim_due(NOON, 20, ["telegram"])
        assert {(r.chat_id, r.part) for r in claimed if r.pin} == {("-100pin", 1), ("-100retry", 1)}
        sender = PinningSender(script={"-100retry": [Transient("down")]})
        await engine_for(store, sender, clock, config={"backoff_base": 0.01}).drain(horizon=0)
        assert sender.followed == [("-100pin", 1, "m1")]  # the retried part 1 is not sent yet
        await clock.advance(60)
        await engine_for(store, sender, clock).drain(horizon=0)
        assert [f[:2] for f in sender.followed] == [("-100pin", 1), ("-100retry", 1)]

        await store.record_incoming(incoming(make_digest("d2"), key="d2", content_hash="d2"))
        await fan_out(store, VOCABULARY, renderers={"telegram": SpyRenderer(1)}, clock=clock)
        failing = PinningSender(fail=True)
        with caplog.at_level(logging.ERROR, logger="bot.delivery.engine"):
            await engine_for(store, failing, clock).drain(horizon=0)
        assert len(failing.followed) == 2 and "follow-up of delivery" in caplog.text
        states = {row["state"] for row in ledger(store).values()}
        assert states == {"sent"}  # a failed pin never undoes the send


async def test_announcements_are_never_pinned(tmp_path: Path) -> None:
    async with await Store.open(tmp_path / "bot.db") as store:
        sub = await subscribe(store, "-100a", kind="channel")
        await store.set_reader_option(sub.id, "pin", True)
        draft = await store.draft_announcement("telegram", "hello", "owner")
        await store.confirm_announcement(draft, "telegram", StoredPayload.of({"text": "hello"}))
        [row] = await store.claim_due(store.clock.now(), 10, ["telegram"])
        assert row.unit.startswith("a") and not row.pin


# -- the store's checks --------------------------------------------------------------------------


@pytest.mark.both_backends
async def test_reader_options_are_stored_and_checked(store: Store) -> None:
    sub = await subscribe(store, "7")
    assert (sub.format, sub.previews, sub.silent, sub.pin, sub.pinned_message_id) == (
        "full",
        None,
        False,
        False,
        None,
    )
    sub = await store.set_reader_option(sub.id, "format", "compact")
    sub = await store.set_reader_option(sub.id, "previews", False)
    sub = await store.set_reader_option(sub.id, "silent", True)
    assert (sub.format, sub.previews, sub.silent) == ("compact", False, True)
    with pytest.raises(ValueError, match="unknown format 'tiny'"):
        await store.set_reader_option(sub.id, "format", "tiny")
    with pytest.raises(ValueError, match="unknown reader option quiet"):
        await store.set_reader_option(sub.id, "quiet", True)
    with pytest.raises(ValueError, match="unknown reader option silent='yes'"):
        await store.set_reader_option(sub.id, "silent", "yes")
    with pytest.raises(KeyError):
        await store.set_reader_option(9999, "silent", True)
    await store.set_pinned(sub.id, "55")
    again = await store.get_subscription_by_id(sub.id)
    assert again is not None and again.pinned_message_id == "55"


# -- planning and rendering ------------------------------------------------------------------------


@pytest.mark.both_backends
async def test_each_reading_is_rendered_with_its_options_once(store: Store) -> None:
    await store.record_incoming(incoming(make_digest()))
    settings = {
        "a": {},
        "b": {},
        "c": {"format": "compact"},
        "d": {"previews": True},
        "e": {"silent": True},
    }
    for chat, options in settings.items():
        sub = await subscribe(store, chat)
        for name, value in options.items():
            await store.set_reader_option(sub.id, name, value)
    spy = SpyRenderer(1)
    await fan_out(store, VOCABULARY, renderers={"telegram": spy})
    seen = sorted(str((o.compact, o.previews, o.silent)) for _, o in spy.calls)
    assert seen == [
        "(False, None, False)",  # a and b share one rendering
        "(False, None, True)",
        "(False, True, False)",
        "(True, None, False)",
    ]


def _long_digest() -> Any:
    digest = make_digest()
    items = tuple(
        replace(digest.items[0], number=n, title=f"Item {n} " + "word " * 12) for n in range(1, 400)
    )
    return replace(digest, items=items)


def test_compact_is_titles_only_and_still_within_the_limit() -> None:
    options = RenderOptions(VOCABULARY, language="en")
    digest = _long_digest()
    full = render_telegram(digest, options)
    compact = render_telegram(digest, replace(options, compact=True))
    assert len(compact) < len(full)
    assert all(TELEGRAM_TEXT.measure(visible_text(p["text"])) <= 4096 for p in compact)
    text = "\n".join(p["text"] for p in compact)
    assert text.count("\n399. ") == 1 and "#" not in text
    small = render_telegram(make_digest(), replace(options, compact=True, silent=True, previews=True))
    assert len(small) == 1
    assert small[0]["disable_notification"] is True and "link_preview_options" not in small[0]
    tiny = render_telegram(make_digest(), replace(options, compact=True), limit=TextLimit(200, "utf16"))
    assert all(TextLimit(200, "utf16").measure(visible_text(p["text"])) <= 200 for p in tiny)


# -- commands where the platform has no reader options ----------------------------------------------


@pytest.mark.both_backends
async def test_latest_follows_the_chats_format(store: Store) -> None:
    await store.record_incoming(incoming(make_digest(items=24)))
    service = CommandService(store, VOCABULARY, default_timezone="UTC", renderers=default_renderers())
    chat = ChatRef("telegram", "42", None, kind="private", title="Ann")

    async def latest() -> tuple[Any, ...]:
        return (await service.handle(Command("latest", (), chat, Caller("42", language="en")))).parts

    await service.handle(Command("subscribe", (), chat, Caller("42", language="en")))
    full = await latest()
    await service.handle(Command("format", ("compact",), chat, Caller("42", language="en")))
    compact = await latest()
    assert "这是摘要" in full[0]["text"] and "这是摘要" not in "".join(p["text"] for p in compact)
    assert "第24条" in compact[-1]["text"] and "disable_notification" not in compact[0]


@pytest.mark.both_backends
async def test_platforms_without_the_options_say_so(store: Store) -> None:
    service = CommandService(store, VOCABULARY, default_timezone="UTC", renderers=default_renderers())

    async def reply(platform: str, language: str, name: str, *args: str) -> tuple[str, bool]:
        chat_id = "42" if language == "en" else "43"  # a chat's own language wins once subscribed
        chat = ChatRef(platform, chat_id, None, kind="private", title="Ann")
        answer = await service.handle(Command(name, args, chat, Caller("42", language=language)))
        return answer.text, answer.error

    await reply("console", "en", "subscribe")
    assert await reply("console", "en", "format", "compact") == (
        "/format is not available on this platform.",
        True,
    )
    assert await reply("console", "zh", "pin", "on") == ("这个平台不支持 /pin。", True)
    refused, error = await reply("console", "en", "quiet", "22:00-07:00", "silent")
    assert error and refused.startswith("Silent quiet hours are not available")
    help_console, help_telegram = (
        (await reply("console", "en", "help"))[0],
        (await reply("telegram", "en", "help"))[0],
    )
    assert "/format" not in help_console and "/silent" not in help_console
    assert "/format [full|compact]" in help_telegram and "/pin [on|off]" in help_telegram
    assert "22:00-07:00 silent" not in (await reply("console", "en", "status"))[0]


async def test_scheduled_posts_are_rendered_with_the_reader_options(tmp_path: Path) -> None:
    clock = ManualClock(datetime(2025, 3, 8, 12, 0, tzinfo=UTC))
    async with await Store.open(tmp_path / "bot.db", clock=clock) as store:
        sub_id = await scheduled(store, schedule="at 09:00")
        await store.set_reader_option(sub_id, "format", "compact")
        await store.set_reader_option(sub_id, "silent", True)
        await publish(store, "d1")
        await clock.advance(24 * 3600)
        spy = SpyRenderer(1)
        assert await Scheduler(store, VOCABULARY, renderers={"telegram": spy}, clock=clock).run_due() == 1
        [(_, options)] = spy.calls
        assert (options.compact, options.previews, options.silent) == (True, None, True)
