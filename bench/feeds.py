"""Benchmark of the feed path with big and hostile input: time per MB, and what the event loop feels.

Prints, for feeds of growing size, the seconds a whole poll takes against a loopback HTTP server
(download, feedparser and each entry's digest in worker threads) and the longest pause of the event
loop meanwhile (the server shares that loop); then what hostile entry HTML costs: deeply nested
markup in lexbor against the linear nesting check that refuses it first, and html_items on a long
nested list. Every step should stay linear in its input.
Run: python bench/feeds.py
"""

from __future__ import annotations

import asyncio
import html
import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from selectolax.lexbor import LexborHTMLParser

from bot.core.html_depth import nests_deeper_than
from bot.core.html_items import html_items
from bot.sources.feed import FeedPoller

ITEM = "<li><p><a href='https://example.org/{n}'>Item {n} - Author</a></p><p>Summary of item {n}.</p></li>"


def entry_html(size: int) -> str:
    """An ordered list of items, about `size` bytes of HTML."""
    items = [ITEM.format(n=n) for n in range(size // len(ITEM.format(n=0)))]
    return "<ol>" + "".join(items) + "</ol>"


def rss(entries: int, entry_size: int) -> bytes:
    body = html.escape(entry_html(entry_size))
    items = "".join(
        f"<item><title>Entry {i}</title><guid>urn:bench:{i}</guid><description>{body}</description></item>"
        for i in range(entries)
    )
    return f'<rss version="2.0"><channel><title>bench</title>{items}</channel></rss>'.encode()


async def loop_pause_during(work: Callable[[], Awaitable[object]]) -> tuple[float, float]:
    """Seconds `work` takes and the longest the event loop was kept from a 10 ms tick meanwhile."""
    longest = 0.0

    async def tick() -> None:
        nonlocal longest
        while True:
            started = time.perf_counter()
            await asyncio.sleep(0.01)
            longest = max(longest, time.perf_counter() - started - 0.01)

    ticker = asyncio.create_task(tick())
    started = time.perf_counter()
    await work()
    elapsed = time.perf_counter() - started
    ticker.cancel()
    return elapsed, longest


async def _poll_into(poller: FeedPoller, found: list[object]) -> None:
    found.extend(await poller.poll())


async def polls() -> None:
    print("feed poll (loopback server, 500 KB entries):")
    for entries in (1, 4, 16):  # 16 x 0.9 MB is over the default 10 MiB cap
        body = rss(entries, 500_000)
        app = web.Application()
        app.router.add_get("/feed", lambda request, body=body: web.Response(body=body))
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        poller = FeedPoller("bench", f"http://{host}:{port}/feed", max_entry_bytes=1_000_000)
        found: list[object] = []
        elapsed, pause = await loop_pause_during(lambda poller=poller, found=found: _poll_into(poller, found))
        await poller.aclose()
        await runner.cleanup()
        megabytes = len(body) / 1e6
        outcome = "refused: over max_feed_bytes" if poller.failures else f"{len(found)} digests"
        print(
            f"  {entries:>2} entries {megabytes:6.1f} MB: {elapsed:6.2f} s ({elapsed / megabytes:5.2f} s/MB),"
            f" {outcome}, longest event-loop pause {pause * 1e3:6.1f} ms"
        )


def hostile() -> None:
    print("hostile entry HTML (lexbor parse alone, then the nesting check, then html_items):")
    for depth in (5_000, 10_000, 20_000):
        text = "<span>" * depth + "<p></p>" * depth
        started = time.perf_counter()
        LexborHTMLParser(text)
        parse = time.perf_counter() - started
        started = time.perf_counter()
        refused = nests_deeper_than(text)
        check = time.perf_counter() - started
        print(
            f"  {len(text) / 1e3:6.0f} KB nested {depth:>6}: lexbor {parse:6.2f} s,"
            f" check {check * 1e3:6.2f} ms (refused: {refused})"
        )
    for width in (2_000, 8_000, 32_000):
        text = "<ol><li>Top<ol>" + "<li>x</li>" * width + "</ol></li></ol>"
        started = time.perf_counter()
        html_items(text)
        print(f"  nested list of {width:>6} items: html_items {time.perf_counter() - started:6.3f} s")


if __name__ == "__main__":
    asyncio.run(polls())
    hostile()
