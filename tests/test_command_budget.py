"""The per-user command budget (bot/commands/budget.py) and the Telegram reply queue, without a network."""

from __future__ import annotations

import asyncio

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.commands.budget import CommandBudget, Verdict
from bot.platforms.telegram.reply_queue import ReplyQueue


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def budget(clock: Clock, burst: int = 5, refill: float = 3.0) -> CommandBudget:
    return CommandBudget(burst=burst, refill_seconds=refill, clock=clock)


def test_a_burst_runs_then_one_slow_down_then_silence_until_a_token_is_back() -> None:
    clock = Clock()
    limits = budget(clock)
    verdicts = [limits.admit("telegram", "1") for _ in range(40)]
    assert verdicts[:5] == [Verdict.RUN] * 5
    assert verdicts[5] is Verdict.SLOW_DOWN
    assert set(verdicts[6:]) == {Verdict.IGNORE}
    clock.now = 2.9
    assert limits.admit("telegram", "1") is Verdict.IGNORE
    clock.now = 3.0
    assert limits.admit("telegram", "1") is Verdict.RUN
    assert limits.admit("telegram", "1") is Verdict.SLOW_DOWN  # told again after running again


def test_users_and_platforms_have_separate_budgets() -> None:
    clock = Clock()
    limits = budget(clock, burst=1)
    assert limits.admit("telegram", "1") is Verdict.RUN
    assert limits.admit("telegram", "1") is Verdict.SLOW_DOWN
    assert limits.admit("telegram", "2") is Verdict.RUN
    assert limits.admit("discord", "1") is Verdict.RUN


def test_the_slow_down_text_names_the_budget_in_both_languages() -> None:
    limits = budget(Clock())
    assert "at most 5 in a row, then one every 3 s" in limits.slow_down("en")
    assert "最多连续 5 条，之后每 3 秒 1 条" in limits.slow_down("zh")


def test_idle_users_are_forgotten_so_memory_follows_active_users() -> None:
    clock = Clock()
    limits = budget(clock, burst=2, refill=1.0)
    for user in range(20_000):
        clock.now = user * 0.01  # 100 new users a second, each idle again 2 s later
        limits.admit("telegram", str(user))
    assert limits.tracked_users() <= 2048


@settings(max_examples=60)
@given(st.lists(st.tuples(st.sampled_from("ab"), st.floats(0, 5)), max_size=200))
def test_no_user_ever_runs_more_than_the_budget_allows(events: list[tuple[str, float]]) -> None:
    clock = Clock()
    limits = budget(clock, burst=3, refill=2.0)
    runs: dict[str, list[float]] = {"a": [], "b": []}
    last: dict[str, Verdict] = {}
    for user, gap in events:
        clock.now += gap
        verdict = limits.admit("telegram", user)
        if verdict is Verdict.RUN:
            runs[user].append(clock.now)
        if verdict is Verdict.SLOW_DOWN:
            assert last.get(user) is not Verdict.SLOW_DOWN  # told once, then silence
        if verdict is not Verdict.IGNORE:
            last[user] = verdict
    for times in runs.values():
        for i, start in enumerate(times):
            window = [t for t in times[i:] if t - start <= 10.0]
            assert len(window) <= 3 + 10.0 / 2.0 + 1e-9


async def test_replies_go_out_in_order_per_chat_and_a_failure_does_not_stop_the_queue() -> None:
    queue = ReplyQueue()
    sent: list[str] = []
    release = asyncio.Event()

    def job(name: str, *, wait: bool = False, fail: bool = False):  # type: ignore[no-untyped-def]
        async def run() -> None:
            if wait:
                await release.wait()
            if fail:
                raise RuntimeError("boom")
            sent.append(name)

        return run

    assert queue.put(1, job("1a", wait=True))
    assert queue.put(1, job("1b", fail=True))
    assert queue.put(1, job("1c"))
    assert queue.put(2, job("2a"))
    await asyncio.sleep(0.01)
    assert sent == ["2a"]  # chat 2 does not wait behind chat 1
    release.set()
    await asyncio.sleep(0.01)
    assert sent == ["2a", "1a", "1c"] and queue.pending() == 0


async def test_queues_are_bounded_per_chat_and_in_total_and_close_drops_the_rest() -> None:
    queue = ReplyQueue(per_chat=3, total=5)
    blocked = asyncio.Event()

    async def never() -> None:
        await blocked.wait()

    assert queue.put(1, never)
    await asyncio.sleep(0)  # its worker takes it: running, no longer waiting
    assert all(queue.put(1, never) for _ in range(3))
    assert not queue.put(1, never)  # three already wait for chat 1
    assert queue.put(2, never) and queue.put(3, never)
    assert not queue.put(4, never)  # five wait in total
    assert queue.pending() == 5
    await queue.close()
    assert queue.pending() == 0
