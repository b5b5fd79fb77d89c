"""Three `digestbot run` processes on one PostgreSQL database share a broadcast, and survive a kill -9.

The proof issue 10 asks for, with real processes: the project's fake Telegram server enforces the
free flood limits (30/s overall, 1/s per chat), the config broadcasts one digest to 1,000 chats, and
the first process started (the one that won the long-polling election) is killed with -9 a third of
the way through. The two others must finish the broadcast: every chat gets its message exactly once
except the killed process's in-flight sends (ledger rows `interrupted`, each sent at most once),
no send is refused with a 429, and a command sent after the kill is answered within 10 s (another
process took over polling). 1,000 messages at 30/s take ~35 s; one part per chat keeps it there,
and a 6 s `delivery.lease` gives the killed process's claimed rows to the others within the minute.
"""

from __future__ import annotations

import signal
from collections import Counter
from contextlib import AsyncExitStack
from pathlib import Path

from fake_telegram import FakeTelegram
from process_helpers import TELEGRAM_TOKEN
from waiting import wait_for
from workers_world import Ledger, broadcast_chats, drop_broadcast, read_ledger, start_bots, write_config

PROCESSES = 3
CHATS = 1_000
CONCURRENCY = 16  # delivery.concurrency: the most sends a kill can leave in flight
LEASE = 6  # delivery.lease: the killed process's claimed rows go to the others within seconds
KILL_AT = 300  # messages delivered when the first process dies
USER = 4242  # writes /start after the kill; not among the broadcast's chats
TAKEOVER = 10.0  # seconds another process has to answer once the poller died
ELECTED = "poll:telegram: won"  # the log line of a process taking over long polling


def delivered(fake: FakeTelegram) -> int:
    return sum(len(fake.sent_to(chat)) for chat in broadcast_chats(CHATS))


async def test_three_processes_finish_a_broadcast_after_one_is_killed(
    tmp_path: Path, postgres_url: str
) -> None:
    chats = broadcast_chats(CHATS)
    async with FakeTelegram(TELEGRAM_TOKEN) as fake, AsyncExitStack() as stack:
        user = fake.user(USER, language="en")
        for chat in chats:
            fake.user(chat)
        config = write_config(
            tmp_path,
            postgres_url,
            fake.base_url,
            chats,
            delivery={"concurrency": CONCURRENCY, "lease": LEASE},
        )
        # The first process alone wins the polling election; the others start once it polls.
        [first] = await start_bots(stack, config, [tmp_path / "bot1.log"])
        await fake.wait_for(lambda: bool(fake.calls("getUpdates")), 20, "the first process to poll")
        others = await start_bots(stack, config, [tmp_path / f"bot{n}.log" for n in range(2, PROCESSES + 1)])

        assert ELECTED in first.stderr() and not any(ELECTED in bot.stderr() for bot in others)

        drop_broadcast(tmp_path)
        await fake.wait_for(lambda: delivered(fake) >= KILL_AT, 40, f"{KILL_AT} messages delivered")
        first.process.send_signal(signal.SIGKILL)
        assert await first.process.wait() == -signal.SIGKILL
        assert delivered(fake) < CHATS, "the kill must land mid-broadcast"

        fake.push_message(USER, "/start", sender=user)
        await fake.wait_for(lambda: bool(fake.sent_to(USER)), TAKEOVER, "another process to answer /start")
        assert sum(ELECTED in bot.stderr() for bot in others) == 1

        async def settled() -> bool:
            return (await read_ledger(postgres_url)).settled(CHATS)

        await wait_for(settled, 60, "every ledger row final")
        ledger = await read_ledger(postgres_url)
        for bot in others:
            assert await bot.terminate(timeout=15) == 0, bot.stderr()[-3000:]

    assert_each_chat_served_once(ledger, fake)
    assert fake.refused == [], f"{len(fake.refused)} sends refused with 429, first: {fake.refused[0]}"


def assert_each_chat_served_once(ledger: Ledger, fake: FakeTelegram) -> None:
    """Every (chat, part) row is sent and arrived once; `interrupted` ones (in flight at the kill)
    arrived at most once; nothing arrived that the ledger does not hold."""
    chats = set(broadcast_chats(CHATS))
    rows = {(chat, part): state for chat, part, state in ledger.rows if chat in chats}
    assert len(rows) == CHATS == len([r for r in ledger.rows if r[0] in chats]), ledger.states()
    arrived = Counter(chat for chat in chats for _ in fake.sent_to(chat))
    assert set(arrived) <= {chat for chat, _ in rows}
    interrupted = [key for key, state in rows.items() if state == "interrupted"]
    assert len(interrupted) <= CONCURRENCY, f"{len(interrupted)} interrupted: {ledger.states()}"
    for (chat, _), state in rows.items():
        if state == "interrupted":
            assert arrived[chat] <= 1, f"chat {chat} (interrupted) got {arrived[chat]} messages"
        else:
            assert (state, arrived[chat]) == ("sent", 1), f"chat {chat}: {state}, {arrived[chat]} messages"
