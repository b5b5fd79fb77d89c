"""The feed source when the feed misbehaves: errors, back-off, slow and oversized answers, parser crashes."""

from __future__ import annotations

import asyncio
import gzip
import json
import logging
import socket
import time

import pytest
from aiohttp import web
from feed_server import (
    ITEMS_HTML,
    Factory,
    FeedServer,
    json_feed,
    rss,
)
from waiting import wait_for

from bot.core.errors import DigestError
from bot.core.model import Digest
from bot.sources.base import Incoming
from bot.store.db import Store

# --- failures and backoff ---------------------------------------------------------------------


async def test_server_error_backs_off_logs_once_and_recovers(
    server: FeedServer, poller_factory: Factory, caplog: pytest.LogCaptureFixture
) -> None:
    server.respond = lambda request: web.Response(status=500, text="boom")
    poller = poller_factory(poll_interval=10.0, max_backoff=35.0)
    assert poller.next_delay == 10.0
    with caplog.at_level(logging.DEBUG, logger="bot.sources.feed"):
        assert await poller.poll() == []
        assert (poller.failures, poller.next_delay) == (1, 20.0)
        assert await poller.poll() == []
        assert (poller.failures, poller.next_delay) == (2, 35.0)  # 40 capped
        errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert len(errors) == 1
        assert "HTTP 500" in errors[0].getMessage()
        assert server.url in errors[0].getMessage()
        server.serve(rss())
        assert len(await poller.poll()) == 2
    assert (poller.failures, poller.next_delay) == (0, 10.0)
    assert any("recovered" in r.getMessage() for r in caplog.records)


async def test_run_waits_longer_after_failures(server: FeedServer, poller_factory: Factory) -> None:
    failures_left = [2]

    def respond(request: web.Request) -> web.Response:
        if failures_left[0]:
            failures_left[0] -= 1
            return web.Response(status=503)
        return web.Response(body=rss(), content_type="application/rss+xml")

    server.respond = respond
    queue: asyncio.Queue[Incoming] = asyncio.Queue()
    task = asyncio.create_task(poller_factory(poll_interval=0.05).run(queue))
    first = await asyncio.wait_for(queue.get(), timeout=5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert first.key == "https://example.org/posts/weekly-notes/"
    gaps = [b - a for a, b in zip(server.request_times, server.request_times[1:], strict=False)]
    assert gaps[0] >= 0.09  # 0.05 * 2 after the first failure
    assert gaps[1] >= 0.19  # 0.05 * 4 after the second


async def test_timeout_is_a_failure(server: FeedServer, poller_factory: Factory) -> None:
    async def slow(request: web.Request) -> web.Response:
        await server.release.wait()
        return web.Response(status=200)

    server.respond = slow
    poller = poller_factory(timeout=0.2)
    started = time.monotonic()
    assert await poller.poll() == []
    assert time.monotonic() - started < 1.5
    assert poller.failures == 1


async def test_unreachable_feed_is_a_failure(
    poller_factory: Factory, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    poller = poller_factory(url=f"http://127.0.0.1:{port}/feed")
    with caplog.at_level(logging.ERROR, logger="bot.sources.feed"):
        assert await poller.poll() == []
    assert poller.failures == 1
    assert "request failed" in caplog.records[0].getMessage()


async def test_oversized_response_is_a_failure(
    server: FeedServer, poller_factory: Factory, caplog: pytest.LogCaptureFixture
) -> None:
    server.serve(rss())
    poller = poller_factory(max_bytes=500)
    with caplog.at_level(logging.ERROR, logger="bot.sources.feed"):
        assert await poller.poll() == []
    assert poller.failures == 1
    (record,) = caplog.records
    assert "larger than the 500-byte limit (max_feed_bytes)" in record.getMessage()


async def test_an_endless_body_is_abandoned_at_the_cap(
    server: FeedServer, poller_factory: Factory, caplog: pytest.LogCaptureFixture
) -> None:
    """No Content-Length, bytes forever: the poller stops reading at max_bytes, not at the end."""
    sent = [0]

    async def endless(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
        await response.prepare(request)
        chunk = b"<!-- padding -->" * 4096
        try:
            while sent[0] < 64 * 1024 * 1024:  # bounded, but far past the cap
                await response.write(chunk)
                sent[0] += len(chunk)
        except (ConnectionError, RuntimeError):
            pass
        return response

    server.respond = endless
    poller = poller_factory(max_bytes=256 * 1024, poll_interval=5.0)
    with caplog.at_level(logging.ERROR, logger="bot.sources.feed"):
        assert await poller.poll() == []
    assert (poller.failures, poller.next_delay) == (1, 10.0)
    assert "max_feed_bytes" in caplog.records[0].getMessage()
    assert sent[0] < 16 * 1024 * 1024


async def test_a_compressed_body_is_capped_by_its_unpacked_size(
    server: FeedServer, poller_factory: Factory, caplog: pytest.LogCaptureFixture
) -> None:
    bomb = gzip.compress(b"<rss>" + b" " * (8 * 1024 * 1024), compresslevel=9)
    server.serve(bomb, "application/rss+xml", **{"Content-Encoding": "gzip"})
    poller = poller_factory(max_bytes=1024 * 1024)
    with caplog.at_level(logging.ERROR, logger="bot.sources.feed"):
        assert await poller.poll() == []
    assert len(bomb) < 1024 * 1024 and poller.failures == 1
    assert "max_feed_bytes" in caplog.records[0].getMessage()


def entry_rss(*entries: tuple[str, str, str]) -> bytes:
    """An RSS document of (guid, pubDate, content HTML) entries."""
    items = "".join(
        f"<item><title>Entry {guid}</title><link>https://example.org/{guid}</link><guid>urn:t:{guid}</guid>"
        f"<pubDate>{date}</pubDate><description><![CDATA[{content}]]></description></item>"
        for guid, date, content in entries
    )
    return f'<rss version="2.0"><channel><title>t</title>{items}</channel></rss>'.encode()


async def test_an_oversized_entry_is_rejected_alone_with_one_log_line(
    server: FeedServer, poller_factory: Factory, caplog: pytest.LogCaptureFixture, tmp_path: object
) -> None:
    big = "<ol>" + "<li><a href='https://example.org/x'>Item - A</a></li>" * 200 + "</ol>"
    server.serve(
        entry_rss(
            ("small", "Tue, 01 Apr 2031 10:00:00 GMT", ITEMS_HTML),
            ("big", "Tue, 01 Apr 2031 11:00:00 GMT", big),
        )
    )
    poller = poller_factory(max_entry_bytes=len(big))
    found = await poller.poll()
    assert poller.failures == 0
    assert [i.key for i in found] == ["urn:t:small", "urn:t:big"]
    assert isinstance(found[0].result, Digest) and len(found[0].result.items) == 2
    rejected = found[1].result
    assert isinstance(rejected, DigestError)
    assert rejected.source == "feed 'site' entry https://example.org/big"
    assert rejected.reason == f"larger than the {len(big)}-byte limit (max_digest_bytes)"
    async with await Store.open(f"{tmp_path}/bot.db") as store:
        with caplog.at_level(logging.WARNING):
            for incoming in [*found, *await poller.poll()]:
                await store.record_incoming(incoming)
            server.serve(entry_rss(("big", "Tue, 01 Apr 2031 11:00:00 GMT", big)))
            for incoming in await poller_factory(max_entry_bytes=len(big)).poll():
                await store.record_incoming(incoming)  # the same entry again, e.g. after a restart
    (line,) = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert "https://example.org/big" in line and "feed 'site'" in line and "max_digest_bytes" in line


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (
            b'{"version": "https://jsonfeed.org/version/1.1", "items": ['
            + b"[" * 200_000
            + b"]" * 200_000
            + b"]}",
            "nested too deeply",
        ),
        (
            b'{"version": "https://jsonfeed.org/version/1.1", "items": [{"id": ' + b"9" * 5000 + b"}]}",
            "ValueError",
        ),
    ],
    ids=["deep-json", "huge-int"],
)
async def test_a_body_that_crashes_the_parser_is_a_failure_with_backoff(
    server: FeedServer, poller_factory: Factory, caplog: pytest.LogCaptureFixture, body: bytes, reason: str
) -> None:
    server.serve(body, "application/feed+json")
    poller = poller_factory(poll_interval=5.0)
    with caplog.at_level(logging.ERROR, logger="bot.sources.feed"):
        assert await poller.poll() == []
        assert await poller.poll() == []
    assert (poller.failures, poller.next_delay) == (2, 20.0)
    (record,) = caplog.records  # once per change of state, not per poll
    assert reason in record.getMessage() and server.url in record.getMessage()
    server.serve(json_feed(), "application/feed+json")
    assert len(await poller.poll()) == 1 and poller.failures == 0


async def test_run_survives_a_parser_crash(server: FeedServer, poller_factory: Factory) -> None:
    server.serve(b'{"items": ' + b"[" * 200_000 + b"]" * 200_000 + b"}", "application/json")
    poller = poller_factory(poll_interval=0.05)
    task = asyncio.create_task(poller.run(asyncio.Queue()))

    await wait_for(lambda: len(server.requests) >= 2, 10, "the poll after the crash")
    assert not task.done() and poller.failures >= 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (entry_rss(("bad", "Fri, 31 Dec 9999 23:00:00 GMT", ITEMS_HTML)), "application/rss+xml"),
        (
            b'<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><entry><id>urn:t:bad</id><title>x</title>'
            b"<published>0001-01-01T00:00:00+14:00</published></entry></feed>",
            "application/atom+xml",
        ),
        (json_feed(id="urn:t:bad", date_published="9999-12-31T23:00:00-12:00"), "application/feed+json"),
    ],
    ids=["rss-9999", "atom-year-1", "json-9999"],
)
async def test_an_entry_dated_beyond_every_time_zone_is_rejected_alone(
    server: FeedServer, poller_factory: Factory, body: bytes, content_type: str
) -> None:
    good = json.loads(json_feed())["items"][0]
    if content_type == "application/feed+json":
        document = json.loads(body)
        document["items"] = [document["items"][0], good]
        body = json.dumps(document).encode()
    else:  # the same bad entry next to a good one, in the document's own format
        body = body.replace(
            b"</channel>", b"<item><guid>urn:t:good</guid><title>2031.04.02.16 ok</title></item></channel>"
        )
        body = body.replace(
            b"</feed>", b"<entry><id>urn:t:good</id><title>2031.04.02.16 ok</title></entry></feed>"
        )
    server.serve(body, content_type)
    poller = poller_factory()
    found = {i.key: i.result for i in await poller.poll()}
    assert poller.failures == 0
    rejected = found.pop("urn:t:bad")
    assert isinstance(rejected, DigestError) and "range" in rejected.reason
    assert rejected.source.startswith("feed 'site' entry ")
    (other,) = found.values()
    assert isinstance(other, Digest) and other.id == "2031.04.02.16"


@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        (b"this is not a feed at all", "text/plain", "malformed feed"),
        (b"/etc/hostname", "text/plain", "malformed feed"),
        (b"<html><body><p>Site moved</p></body></html>", "text/html", "text/html is not an XML media type"),
        (b"", "application/rss+xml", "not an RSS, Atom or JSON feed"),
        (
            b'{"version": "https://jsonfeed.org/version/1.1", "items": [',
            "application/feed+json",
            "invalid JSON",
        ),
        (b'{"version": "2.0", "items": []}', "application/json", "not a JSON Feed"),
        (b'{"version": "https://jsonfeed.org/version/1"}', "application/json", "'items'"),
        (b"[1, 2]", "application/json", "not an object"),
    ],
)
async def test_malformed_feed_is_logged_with_url_and_reason(
    server: FeedServer,
    poller_factory: Factory,
    caplog: pytest.LogCaptureFixture,
    body: bytes,
    content_type: str,
    reason: str,
) -> None:
    server.serve(body, content_type, ETag='"bad"')
    poller = poller_factory()
    with caplog.at_level(logging.ERROR, logger="bot.sources.feed"):
        assert await poller.poll() == []
        assert await poller.poll() == []
    assert poller.failures == 2
    (record,) = caplog.records
    assert server.url in record.getMessage()
    assert reason in record.getMessage()
    assert "If-None-Match" not in server.requests[1]  # a broken body is never cached behind a 304


async def test_empty_but_valid_feed_is_fine(server: FeedServer, poller_factory: Factory) -> None:
    server.serve(b'<rss version="2.0"><channel><title>t</title></channel></rss>')
    poller = poller_factory()
    assert await poller.poll() == []
    assert poller.failures == 0
