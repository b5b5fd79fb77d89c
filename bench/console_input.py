"""Console input benchmark: one huge line piped into the console, then `/help`.

    python bench/console_input.py [--mb 1 10 100]

For each size, a real pipe feeds the console platform (its reader thread, line splitter and
command service on a real database): the time until the huge line is refused, the time until the
following /help is answered, and the peak memory traced meanwhile. Target: both replies within
0.5 s of the line's end and peak memory under 1 MB, whatever the size (before the bound, 1 MB took
24 s and 10 MB minutes). Exit status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import sys
import tempfile
import threading
import time
import tracemalloc
from pathlib import Path

from bot.commands.service import CommandService
from bot.config import packaged_defaults
from bot.platforms.console import ConsolePlatform
from bot.platforms.registry import default_renderers
from bot.store.db import Store

CHUNK = b"x" * 65536


def feed(fd: int, megabytes: int, line_done: list[float]) -> None:
    """Writes `/subscribe xxxx...` of `megabytes` MB, a newline, then /help, and closes the pipe."""
    with os.fdopen(fd, "wb", buffering=0) as pipe:
        pipe.write(b"/subscribe ")
        for _ in range(megabytes * 16):
            pipe.write(CHUNK)
        line_done.append(time.perf_counter())
        pipe.write(b"\n/help\n")


async def measure(megabytes: int, database: Path) -> tuple[float, float, int]:
    """(seconds for the whole run, seconds from the line's end to the /help reply, peak bytes)."""
    store = await Store.open(database)
    service = CommandService(
        store,
        packaged_defaults(Path.cwd()).vocabulary(),
        default_language="en",
        renderers=default_renderers(),
    )
    out = io.StringIO()
    read_end, write_end = os.pipe()
    line_done: list[float] = []
    tracemalloc.start()
    try:
        with os.fdopen(read_end, "rb", buffering=0) as stdin:
            console = ConsolePlatform(service, language="en", stdin=stdin, out=out)
            started = time.perf_counter()
            await console.start()
            writer = threading.Thread(target=feed, args=(write_end, megabytes, line_done))
            writer.start()
            while "Commands:" not in out.getvalue():
                await asyncio.sleep(0.001)
            answered = time.perf_counter()
            writer.join()
            await console.stop()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        await store.close()
    if out.getvalue().count("Line ignored") != 1:
        raise SystemExit("the huge line was not refused exactly once")
    return answered - started, answered - line_done[0], peak


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, nargs="+", default=[1, 10, 100])
    args = parser.parse_args()
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.mb:
            total, help_after, peak = asyncio.run(measure(size, Path(tmp) / f"bench-{size}.db"))
            ok = help_after < 0.5 and peak < 1_000_000
            failed |= not ok
            print(
                f"{size:>4} MB line: {total:6.2f} s in all, /help answered {help_after * 1000:6.1f} ms "
                f"after the line ended,"
                f" peak traced memory {peak / 1024:6.1f} KiB: {'ok' if ok else 'MISSED'}"
            )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
