"""Several `digestbot run` processes on one database: achieved send rate, CPU per message, 429s.

    python bench/workers.py [--chats 10000] [--rate 1000] [--concurrency 64] [--rounds 3]
                            [--runs postgres:1,postgres:2,postgres:3,sqlite:1]

Each run starts the project's fake Telegram server (tests/fake_telegram.py, flood limits on, the
paid pace at `--rate`/s) in a process of its own, then N real `digestbot run` processes on a fresh
database whose config broadcasts one digest (one message) to `--chats` chats with paid broadcasts on
at `--rate`/s; the digest is dropped in the watched folder once every process is up. PostgreSQL is a
throwaway cluster (tests/pg_cluster.py) unless DIGESTBOT_TEST_POSTGRES_URL names a superuser's URL.

Figures: msg/s = messages / time from the first to the last accepted send, as the fake server saw
them (10-90% msg/s: the same between the sends at 10% and at 90%, the pace without the ramp-up
and the tail); CPU per message per process = its utime+stime (/proc/<pid>/stat) from the drop to
the last send, over the messages it sent (the fake counts sends per client port, mapped to
processes through /proc/<pid>/fd); 429s = sends the fake refused. Targets: the 3-process
PostgreSQL run >= 95% of `--rate` with 0 refusals, and one PostgreSQL process >= 80% of one SQLite
process's rate. Exit status 1 when a target is missed. The runs are repeated `--rounds` times,
interleaved, and each run's row is its round of median rate. On a shared machine the figures
are pessimistic.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from pg_cluster import URL_VARIABLE, Admin, Cluster, with_database  # noqa: E402
from process_helpers import TELEGRAM_TOKEN  # noqa: E402
from workers_world import (  # noqa: E402
    broadcast_chats,
    cpu_seconds,
    drop_broadcast,
    read_ledger,
    start_bots,
    write_config,
)

RUNS = "postgres:1,postgres:2,postgres:3,sqlite:1"
FREE_LIMITS = {"global_per_second": 30, "per_chat_per_second": 1, "per_group_per_minute": 20}
POLL = 0.25  # seconds between two looks at the fake's counters


@dataclass(frozen=True)
class Run:
    backend: str  # "postgres" | "sqlite"
    processes: int

    @classmethod
    def parse(cls, text: str) -> Run:
        backend, _, count = text.partition(":")
        if backend not in ("postgres", "sqlite") or not count.isdigit() or int(count) < 1:
            raise argparse.ArgumentTypeError(f"--runs: {text!r} is not postgres:N or sqlite:N")
        if backend == "sqlite" and int(count) != 1:
            raise argparse.ArgumentTypeError(f"--runs: {text!r}: SQLite admits one process")
        return cls(backend, int(count))

    def __str__(self) -> str:
        return f"{self.backend} x{self.processes}"


@dataclass
class Figures:
    run: Run
    sent: int
    seconds: float
    middle: float  # seconds from the 10th to the 90th percentile send: the pace without ramp or tail
    refused: int
    cpu: dict[int, float]  # pid -> CPU seconds during the broadcast
    share: dict[int, int]  # pid -> messages it sent
    states: dict[str, int] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.sent / self.seconds if self.seconds > 0 else 0.0

    @property
    def steady_rate(self) -> float:
        return 0.8 * self.sent / self.middle if self.middle > 0 else 0.0

    def cpu_us(self, pid: int) -> float:
        return self.cpu[pid] / self.share[pid] * 1e6 if self.share.get(pid) else float("nan")

    @property
    def total_cpu_us(self) -> float:
        return sum(self.cpu.values()) / self.sent * 1e6 if self.sent else float("nan")


# -- the fake server, in its own process ----------------------------------------------------------


def serve_fake(chats: int, rate: float) -> None:
    """The fake Bot API server in this (separate) process: prints its URL, then answers each
    `stats` line on stdin with one JSON line (accepted sends, their first and last time, sends per
    client port, 429s) until stdin ends."""
    from fake_telegram import FakeTelegram
    from fake_telegram_types import FloodRules

    class CountingFake(FakeTelegram):
        """Times every accepted sendMessage and counts it for the client port it came from."""

        def __init__(self) -> None:
            super().__init__(TELEGRAM_TOKEN, flood_rules=FloodRules(paid_per_second=rate, paid_burst=rate))
            self.sends: list[float] = []
            self.ports: Counter[int] = Counter()

        async def _handle(self, request: Any) -> Any:
            peer = request.transport.get_extra_info("peername") if request.transport else None
            response = await super()._handle(request)
            if request.match_info["method"].lower() == "sendmessage" and response.status == 200:
                self.sends.append(time.monotonic())
                self.ports[peer[1] if peer else 0] += 1
            return response

    async def serve() -> None:
        fake = CountingFake()
        async with fake:
            for chat in broadcast_chats(chats):
                fake.user(chat)
            print(fake.base_url, flush=True)
            loop = asyncio.get_running_loop()
            while await loop.run_in_executor(None, sys.stdin.readline):
                stats = {
                    "sent": len(fake.sends),
                    "first": fake.sends[0] if fake.sends else 0.0,
                    "last": fake.sends[-1] if fake.sends else 0.0,
                    "middle": _middle(fake.sends),
                    "refused": len(fake.refused),
                    "ports": fake.ports,
                }
                print(json.dumps(stats), flush=True)

    asyncio.run(serve())


def _middle(times: list[float]) -> float:
    """Seconds between the sends at 10% and at 90% of `times` (0 for too few to tell)."""
    if len(times) < 10:
        return 0.0
    return times[len(times) * 9 // 10 - 1] - times[len(times) // 10]


class FakeServer:
    """The fake's process, asked for its counters over stdin/stdout."""

    def __init__(self, chats: int, rate: float) -> None:
        command = [sys.executable, __file__, "--serve-fake", "--chats", str(chats), "--rate", str(rate)]
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None and self.process.stdin is not None
        self.base_url = self.process.stdout.readline().strip()
        if not self.base_url:
            raise SystemExit("the fake Telegram server did not start")

    def stats(self) -> dict[str, Any]:
        assert self.process.stdout is not None and self.process.stdin is not None
        self.process.stdin.write("stats\n")
        self.process.stdin.flush()
        answer: dict[str, Any] = json.loads(self.process.stdout.readline())
        return answer

    def stop(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(10)


# -- which process sent what ----------------------------------------------------------------------


def socket_ports(pids: list[int]) -> dict[int, int]:
    """Local TCP port -> pid, for the sockets each process holds open now."""
    owner: dict[str, int] = {}
    for pid in pids:
        fds = Path(f"/proc/{pid}/fd")
        for fd in fds.iterdir() if fds.exists() else ():
            try:
                target = os.readlink(fd)
            except OSError:
                continue  # closed since the listing
            if target.startswith("socket:["):
                owner[target[8:-1]] = pid
    ports: dict[int, int] = {}
    for table in (Path("/proc/net/tcp"), Path("/proc/net/tcp6")):
        for line in table.read_text().splitlines()[1:]:
            fields = line.split()
            if fields[9] in owner:
                ports[int(fields[1].rsplit(":", 1)[1], 16)] = owner[fields[9]]
    return ports


# -- one run --------------------------------------------------------------------------------------


async def broadcast(
    run: Run, database: str, args: argparse.Namespace, folder: Path, fake: FakeServer
) -> Figures:
    config = write_config(
        folder,
        database,
        fake.base_url,
        broadcast_chats(args.chats),
        telegram={"paid_broadcast": True, "rate_limits": {**FREE_LIMITS, "paid_per_second": args.rate}},
        delivery={"concurrency": args.concurrency},
    )
    async with AsyncExitStack() as stack:
        # One after the other: processes starting together with 10,000 broadcasts wait on each
        # other's sync of them longer than the store's statement timeout, and exit 2 (a bug to fix in
        # the store; the start-up is not what this bench measures).
        bots = [
            bot
            for n in range(run.processes)
            for bot in await start_bots(stack, config, [folder / f"bot{n}.log"])
        ]
        pids = [bot.process.pid for bot in bots]
        before = {pid: cpu_seconds(pid) for pid in pids}
        drop_broadcast(folder)
        ports: dict[int, int] = {}
        deadline = time.monotonic() + args.timeout
        stats = fake.stats()
        while stats["sent"] < args.chats and time.monotonic() < deadline:
            ports.update(socket_ports(pids))
            await asyncio.sleep(POLL)
            stats = fake.stats()
        ports.update(socket_ports(pids))
        cpu = {pid: cpu_seconds(pid) - before[pid] for pid in pids}
        states = (await read_ledger(database)).states()
        for bot in bots:
            await bot.terminate(timeout=30)
    share: Counter[int] = Counter()
    for port, count in stats["ports"].items():
        share[ports.get(int(port), 0)] += count
    if share[0]:
        print(f"  ({share[0]} sends came from a connection no process held when it was looked at)")
    return Figures(
        run,
        stats["sent"],
        stats["last"] - stats["first"],
        stats["middle"],
        stats["refused"],
        cpu,
        dict(share),
        states,
    )


async def one_run(run: Run, args: argparse.Namespace, server_url: str | None) -> Figures:
    with tempfile.TemporaryDirectory(prefix="digestbot-workers-") as name:
        folder = Path(name)
        fake = FakeServer(args.chats, args.rate)
        try:
            if run.backend == "sqlite":
                return await broadcast(run, str(folder / "bot.db"), args, folder, fake)
            assert server_url is not None
            database = f"bench_workers_{os.getpid()}_{run.processes}"
            admin = Admin(server_url)
            try:
                admin.execute(f"DROP DATABASE IF EXISTS {database}", f"CREATE DATABASE {database}")
                return await broadcast(run, with_database(server_url, database), args, folder, fake)
            finally:
                admin.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
                admin.close()
        finally:
            fake.stop()


# -- the table ------------------------------------------------------------------------------------


def median_round(rounds: list[Figures]) -> Figures:
    """The round of median rate (the lower middle one of an even count), whole: its CPU and its
    refusals belong to that rate."""
    return sorted(rounds, key=lambda f: f.rate)[(len(rounds) - 1) // 2]


def report(rounds: dict[Run, list[Figures]], args: argparse.Namespace) -> bool:
    results = [median_round(figures) for figures in rounds.values()]
    print(
        f"\n{args.chats} chats, one message each, limit {args.rate:g}/s, concurrency {args.concurrency};"
        f" the round of median rate of {args.rounds}"
    )
    columns = (
        "run",
        "msg/s",
        "of the limit",
        "10-90% msg/s",
        "CPU per message, each process",
        "all processes",
    )
    print(f"| {' | '.join(columns)} | 429s | ledger | msg/s of each round |")
    print("|---|---|---|---|---|---|---|---|---|")
    for f in results:
        every = ", ".join(f"{r.rate:.0f}" for r in rounds[f.run])
        each = ", ".join(f"{f.cpu_us(pid):.0f} us ({f.share.get(pid, 0)} msgs)" for pid in f.cpu)
        states = ", ".join(f"{state} {count}" for state, count in sorted(f.states.items()))
        print(
            f"| {f.run} | {f.rate:.0f} | {f.rate / args.rate:.0%} | {f.steady_rate:.0f} | {each}"
            f" | {f.total_cpu_us:.0f} us"
            f" | {f.refused} | {states} | {every} |"
        )
    by_run = {str(f.run): f for f in results}
    ok = True
    three = by_run.get("postgres x3")
    if three is not None:
        refused = sum(r.refused for r in rounds[three.run])
        met = three.rate >= 0.95 * args.rate and refused == 0 and three.sent == args.chats
        verdict = "ok" if met else "MISSED"
        print(f"3 processes >= {0.95 * args.rate:.0f} msg/s, 0 refusals in any round: {verdict}")
        ok &= met
    one, sqlite = by_run.get("postgres x1"), by_run.get("sqlite x1")
    if one is not None and sqlite is not None:
        ratio = one.rate / sqlite.rate if sqlite.rate else 0.0
        verdict = "ok" if ratio >= 0.8 else "MISSED"
        print(f"1 PostgreSQL process at {ratio:.0%} of 1 SQLite process's rate (>= 80%): {verdict}")
        ok &= ratio >= 0.8
    return ok


async def bench(args: argparse.Namespace) -> bool:
    server_url = os.environ.get(URL_VARIABLE)
    cluster = None
    if server_url is None and any(run.backend == "postgres" for run in args.runs):
        cluster = Cluster()
        server_url = cluster.start()
    try:
        rounds: dict[Run, list[Figures]] = {run: [] for run in args.runs}
        for number, run in itertools.product(range(1, args.rounds + 1), args.runs):
            print(f"round {number}, {run}: starting", flush=True)
            try:
                figures = await one_run(run, args, server_url)
            except AssertionError as exc:  # a bot that did not start or stop: its log says why
                raise SystemExit(f"{run}: {exc}") from None
            print(
                f"{run}: {figures.sent} sent, {figures.rate:.0f} msg/s, {figures.refused} refused", flush=True
            )
            rounds[run].append(figures)
        return report(rounds, args)
    finally:
        if cluster is not None:
            cluster.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chats", type=int, default=10_000, help="broadcast chats, one message each")
    parser.add_argument("--rate", type=float, default=1000.0, help="the paid pace, sends per second")
    parser.add_argument("--concurrency", type=int, default=64, help="delivery.concurrency of each process")
    parser.add_argument(
        "--runs",
        type=lambda v: [Run.parse(part) for part in v.split(",")],
        default=[Run.parse(part) for part in RUNS.split(",")],
        help=f"backend:processes, in order (default {RUNS})",
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds of all runs, interleaved")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds one broadcast may take")
    parser.add_argument("--serve-fake", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if min(args.chats, args.concurrency, args.rounds) < 1 or args.timeout <= 0 or not 0 < args.rate <= 1000:
        parser.error("--chats, --concurrency, --rounds and --timeout must be positive, --rate in (0, 1000]")
    if args.serve_fake:
        serve_fake(args.chats, args.rate)
        return 0
    return 0 if asyncio.run(bench(args)) else 1


if __name__ == "__main__":
    sys.exit(main())
