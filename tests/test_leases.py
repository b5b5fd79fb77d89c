"""Several processes on one PostgreSQL outbox: claims are leased, a dead process's rows come back.

Each `Store` here is one process (its own connection and lease owner id) on the same database; a
shared hand-moved clock makes leases run out without waiting for them.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from clocks import ManualClock
from db_reads import change, select
from ledger_helpers import FakeSender, engine_for, ledger, part_of, plan
from pg_cluster import Opener
from waiting import OPEN_STATES, wait_for

from bot.store.connection import Connection, Row
from bot.store.db import Store
from bot.store.ledger import LEASE
from bot.store.times import to_db

CHATS = [str(chat) for chat in range(8)]
PAST_LEASE = LEASE.total_seconds() + 1


class LostAnswer:
    """A store's connection on which the first statement starting with `prefix` runs, and commits on
    the server, but then fails as when the connection drops before the answer arrives."""

    def __init__(self, conn: Connection, prefix: str) -> None:
        self._conn = conn
        self._prefix = prefix
        self.lost = False

    def __getattr__(self, name: str) -> object:
        return getattr(self._conn, name)

    async def fetchall(self, sql: str, params: tuple[object, ...] = ()) -> list[Row]:
        rows = await self._conn.fetchall(sql, params)
        if not self.lost and sql.startswith(self._prefix):
            self.lost = True
            raise ConnectionResetError("connection reset by peer")
        return rows


def _states(store: Store) -> dict[int, str]:
    return {row["id"]: row["state"] for row in select(store, "SELECT id, state FROM deliveries")}


async def test_two_processes_claim_disjoint_rows(processes: Opener, clock: ManualClock) -> None:
    first, second = await processes(), await processes()
    await plan(first, CHATS)
    now = clock.now()
    mine, theirs = await asyncio.gather(
        first.claim_due(now, 5, ["telegram"]), second.claim_due(now, 5, ["telegram"])
    )
    claimed = [row.id for row in mine + theirs]
    assert len(claimed) == len(set(claimed)) == len(CHATS)  # every chat's first part, once
    assert {row.part for row in mine + theirs} == {1}
    again = await first.claim_due(now, 10, ["telegram"])  # its own leases do not keep it out
    assert [row.id for row in again] == [row.id for row in mine]
    assert await second.claim_due(now, 10, ["telegram"], [row.id for row in theirs]) == []
    owners = {
        row["lease_owner"] for row in select(first, "SELECT lease_owner FROM deliveries WHERE part = 1")
    }
    assert owners == {first.lease_owner, second.lease_owner}


async def test_a_dead_process_s_claimed_rows_come_back_after_its_lease(
    processes: Opener, clock: ManualClock
) -> None:
    dead, alive = await processes(), await processes()
    await plan(dead, CHATS)
    taken = await dead.claim_due(clock.now(), 100, ["telegram"])
    assert len(taken) == len(CHATS)
    await clock.advance(LEASE.total_seconds() - 1)
    assert await alive.claim_due(clock.now(), 100, ["telegram"]) == []
    assert await alive.next_attempt_at(["telegram"]) == clock.now() + timedelta(seconds=1)  # its lease end
    await clock.advance(1)
    back = await alive.claim_due(clock.now(), 100, ["telegram"])
    assert sorted(row.id for row in back) == sorted(row.id for row in taken)
    assert set(_states(alive).values()) == {"pending"}  # nothing was started: nothing is lost


async def test_a_dead_process_s_sends_become_interrupted_exactly_once(
    processes: Opener, clock: ManualClock
) -> None:
    dead, alive, another = await processes(), await processes(), await processes()
    await plan(dead, CHATS)
    taken = await dead.claim_due(clock.now(), 2, ["telegram"])
    assert await dead.mark_sending_many([row.id for row in taken], clock.now()) == {row.id for row in taken}
    assert await alive.recover_interrupted() == 0  # a live process's sends are left alone
    await clock.advance(PAST_LEASE)
    swept = await asyncio.gather(alive.recover_interrupted(), another.recover_interrupted())
    assert sorted(swept) == [0, 2]
    assert await alive.recover_interrupted() == 0
    states = _states(alive)
    assert [states[row.id] for row in taken] == ["interrupted", "interrupted"]
    assert sum(state == "interrupted" for state in states.values()) == 2


async def test_renewed_leases_keep_a_live_process_s_rows(processes: Opener, clock: ManualClock) -> None:
    busy, other = await processes(), await processes()
    await plan(busy, CHATS)
    taken = await busy.claim_due(clock.now(), 3, ["telegram"])
    sending = taken[0].id
    assert await busy.mark_sending(sending, clock.now())
    for _ in range(3):  # three lease lengths, renewed every half of one
        await clock.advance(LEASE.total_seconds() / 2)
        assert await busy.renew_leases([row.id for row in taken], clock.now()) == 3
    assert await other.recover_interrupted() == 0
    again = await other.claim_due(clock.now(), 100, ["telegram"])
    assert {row.id for row in again}.isdisjoint(row.id for row in taken)
    assert len(again) == len(CHATS) - 3


async def test_shutdown_gives_unstarted_rows_back_at_once(processes: Opener, clock: ManualClock) -> None:
    leaving, staying = await processes(), await processes()
    await plan(leaving, CHATS)
    await leaving.claim_due(clock.now(), 100, ["telegram"])
    assert await leaving.release_leases() == len(CHATS)
    assert len(await staying.claim_due(clock.now(), 100, ["telegram"])) == len(CHATS)


async def test_an_engine_sends_what_a_killed_process_left(processes: Opener, clock: ManualClock) -> None:
    """The killed process had marked chat 1's first part `sending`: the surviving engine's sweep
    interrupts it once its lease ran out (never resending it) and sends everything else."""
    killed, survivor = await processes(), await processes()
    await plan(killed, ["1", "2"])
    [first, *_] = await killed.claim_due(clock.now(), 1, ["telegram"])
    assert await killed.mark_sending(first.id, clock.now())
    await clock.advance(PAST_LEASE)
    sender = FakeSender()
    await engine_for(survivor, sender, clock).drain(horizon=0)
    rows = ledger(survivor)
    assert rows["1", 1]["state"] == "interrupted"
    assert [part_of(text) for text in sender.sent_to("1")] == [2]
    assert rows["2", 1]["state"] == rows["2", 2]["state"] == "sent"
    assert {row["lease_owner"] for row in rows.values() if row["state"] == "pending"} <= {None}


async def test_a_running_engine_sweeps_a_process_killed_while_it_runs(
    processes: Opener, clock: ManualClock
) -> None:
    """Start-up found the other process alive; its lease then runs out while this engine idles,
    and the periodic sweep (not a restart) interrupts its send and lets the chat's next part go."""
    killed, survivor = await processes(), await processes()
    await plan(killed, ["1"])
    [first] = await killed.claim_due(clock.now(), 1, ["telegram"])
    assert await killed.mark_sending(first.id, clock.now())
    sender = FakeSender()
    engine = engine_for(survivor, sender, clock)
    running = asyncio.create_task(engine.run())
    try:
        for _ in range(int(PAST_LEASE * 2) // 10):  # past the lease and the next sweep after it
            await asyncio.sleep(0.05)  # the engine's round at this time, on the real database
            await clock.advance(10)
        await wait_for(lambda: bool(sender.sent_to("1")), 5, "chat 1's second part to go out")
    finally:
        await engine.stop()
        await running
    assert [part_of(text) for text in sender.sent_to("1")] == [2]
    assert ledger(survivor)["1", 1]["state"] == "interrupted"


async def test_a_mark_whose_commit_answer_was_lost_is_sent_after_all(
    processes: Opener, clock: ManualClock
) -> None:
    """The server committed chat 1's first part `sending`, but the engine got a connection error, so
    it never sent it: once the database answers again the row is pending again (not left to be
    interrupted when its lease runs out), and both parts go out once, in order."""
    store = await processes()
    await plan(store, ["1"])
    wrapped = LostAnswer(store._conn, "UPDATE deliveries SET state = 'sending'")
    store._conn = wrapped  # type: ignore[assignment]
    sender = FakeSender()
    engine = engine_for(store, sender, clock)
    running = asyncio.create_task(engine.run())

    async def finished() -> bool:
        await clock.advance(1)  # through the engine's back-off pause (and, unfixed, past the lease)
        return all(row["state"] not in OPEN_STATES for row in ledger(store).values())

    try:
        await wait_for(finished, 10, "chat 1's rows to be finished")
    finally:
        await engine.stop()
        await running
    assert wrapped.lost
    assert [part_of(text) for text in sender.sent_to("1")] == [1, 2]
    rows = ledger(store)
    assert [(rows["1", part]["state"], rows["1", part]["attempts"]) for part in (1, 2)] == [("sent", 1)] * 2


async def test_the_next_due_time_waits_only_for_other_processes_leases(
    processes: Opener, clock: ManualClock
) -> None:
    mine, other = await processes(), await processes()
    await plan(mine, CHATS)
    now = clock.now()
    assert len(await other.claim_due(now, 3, ["telegram"])) == 3
    assert await mine.next_attempt_at(["telegram"]) == now  # the other first parts are due now
    assert len(await mine.claim_due(now, 100, ["telegram"])) == len(CHATS) - 3
    assert await mine.next_attempt_at(["telegram"]) == now  # its own leases do not hold it back
    await mine.release_leases()
    change(
        mine, "UPDATE deliveries SET next_attempt_at = ? WHERE lease_owner IS NULL", (to_db(now + LEASE * 2),)
    )
    assert await mine.next_attempt_at(["telegram"]) == now + LEASE  # when the other's lease ends
    assert await other.next_attempt_at(["telegram"]) == now  # its own rows, due now
