"""The feed poller against a real HTTP server on 127.0.0.1: formats, validators, failures, backoff."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import json
import logging
import socket
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
from aiohttp import web
from waiting import wait_for

from bot.core.errors import DigestError
from bot.core.model import Digest
from bot.sources.base import Incoming
from bot.sources.feed import FeedPoller, redact_url
from bot.sources.feed_entries import FeedEntry, entry_digest_id, parse_feed
from bot.store.db import Store

CST = timezone(timedelta(hours=8))
Factory = Callable[..., FeedPoller]

ITEMS_HTML = (
    '<ol><li><p><a href="https://example.org/a">开源推理模型发布 - 研究员甲</a></p>'
    "<p>这是<strong>测试</strong>用的摘要。</p></li>"
    '<li><p><a href="https://example.org/b">Robot arm startup raises funding - Reporter B</a></p>'
    "<p>A short summary written for this test.</p></li></ol>"
)


WEEKLY_DESCRIPTION = (
    '&lt;ol start="3"&gt;&lt;li&gt;&lt;a href="https://example.org/c"&gt;Policy draft&lt;/a&gt;'
    "&lt;/li&gt;&lt;/ol&gt;"
)


def rss(first_summary: str = "这是<strong>测试</strong>用的摘要。") -> bytes:
    content = ITEMS_HTML.replace("这是<strong>测试</strong>用的摘要。", first_summary)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">
<channel>
  <title>Test digests</title><link>https://example.org/</link><description>fixture</description>
  <item>
    <title>2031.04.02.08 过去4小时AI要闻</title>
    <link>https://example.org/posts/2031.04.02.08/</link>
    <guid isPermaLink="false">post-20310402-08</guid>
    <pubDate>Wed, 02 Apr 2031 00:00:14 GMT</pubDate>
    <category>技术进展</category>
    <category>机器人</category>
    <description>short teaser</description>
    <content:encoded><![CDATA[{content}]]></content:encoded>
  </item>
  <item>
    <title>Weekly notes</title>
    <link>https://example.org/posts/weekly-notes/</link>
    <pubDate>Tue, 01 Apr 2031 10:00:00 GMT</pubDate>
    <description>{WEEKLY_DESCRIPTION}</description>
  </item>
</channel>
</rss>""".encode()


ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Test digests</title>
  <id>urn:example:digests</id>
  <updated>2031-04-02T04:00:00Z</updated>
  <entry>
    <title>2031.04.02.12 \xe8\xbf\x87\xe5\x8e\xbb4\xe5\xb0\x8f\xe6\x97\xb6</title>
    <id>urn:example:2031-04-02-12</id>
    <link href="https://example.org/posts/2031.04.02.12/"/>
    <published>2031-04-02T12:00:00+08:00</published>
    <updated>2031-04-02T04:30:00Z</updated>
    <category term="policy-governance" label="Policy"/>
    <content type="html">&lt;ol&gt;&lt;li&gt;&lt;a href="https://example.org/d"&gt;New rules proposed -
      Observer&lt;/a&gt;&lt;p&gt;Summary.&lt;/p&gt;&lt;/li&gt;&lt;/ol&gt;</content>
  </entry>
</feed>"""


def json_feed(version: str = "https://jsonfeed.org/version/1.1", **item_changes: object) -> bytes:
    item: dict[str, object] = {
        "id": "https://example.org/posts/2031.04.02.16/",
        "url": "https://example.org/posts/2031.04.02.16/",
        "title": "2031.04.02.16 过去4小时AI要闻",
        "content_html": ITEMS_HTML,
        "tags": ["技术进展", "  "],
        "authors": [{"name": "Editor"}],
    }
    item.update(item_changes)
    document = {"version": version, "title": "Test digests", "items": [item, "not an item"]}
    return json.dumps(document, ensure_ascii=False).encode()


class FeedServer:
    """A loopback HTTP server whose next responses the test sets; records every request's headers."""

    def __init__(self) -> None:
        self.respond: Callable[[web.Request], object] = lambda request: web.Response(status=404)
        self.requests: list[dict[str, str]] = []
        self.request_times: list[float] = []
        self.release = asyncio.Event()
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/feed", self._handle)
        self.runner = web.AppRunner(app, shutdown_timeout=0.1)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        host, port = self.runner.addresses[0][:2]
        self.url = f"http://{host}:{port}/feed"

    async def stop(self) -> None:
        self.release.set()
        if self.runner is not None:
            await self.runner.cleanup()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(dict(request.headers))
        self.request_times.append(time.monotonic())
        response = self.respond(request)
        if asyncio.iscoroutine(response):
            response = await response
        assert isinstance(response, web.StreamResponse)
        return response

    def serve(self, body: bytes, content_type: str = "application/rss+xml", **headers: str) -> None:
        """Always answer 200 with `body`, or 304 when the request's validators match `headers`."""

        def respond(request: web.Request) -> web.Response:
            etag = headers.get("ETag")
            modified = headers.get("Last-Modified")
            if (etag and request.headers.get("If-None-Match") == etag) or (
                modified and request.headers.get("If-Modified-Since") == modified
            ):
                return web.Response(status=304)
            return web.Response(body=body, headers={"Content-Type": content_type, **headers})

        self.respond = respond


@pytest.fixture
async def server() -> AsyncIterator[FeedServer]:
    fake = FeedServer()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def poller_factory(server: FeedServer) -> AsyncIterator[Callable[..., FeedPoller]]:
    made: list[FeedPoller] = []

    def make(**kwargs: object) -> FeedPoller:
        options: dict[str, object] = {"poll_interval": 60.0, "timeout": 2.0, "default_tz": CST}
        options.update(kwargs)
        url = str(options.pop("url", server.url))
        poller = FeedPoller("site", url, **options)  # type: ignore[arg-type]
        made.append(poller)
        return poller

    yield make
    for poller in made:
        await poller.aclose()


def digests(found: list[Incoming]) -> list[Digest]:
    result = [i.result for i in found]
    assert all(isinstance(d, Digest) for d in result), result
    return result  # type: ignore[return-value]


# --- formats ----------------------------------------------------------------------------------


async def test_rss_entries_become_digests_oldest_first(server: FeedServer, poller_factory: Factory) -> None:
    server.serve(rss())
    found = await poller_factory().poll()
    assert [i.key for i in found] == ["https://example.org/posts/weekly-notes/", "post-20310402-08"]
    assert all(i.source == "site" for i in found)
    weekly, stamped = digests(found)
    assert stamped.id == "2031.04.02.08"
    assert stamped.title == "2031.04.02.08 过去4小时AI要闻"
    assert stamped.date == datetime(2031, 4, 2, 0, 0, 14, tzinfo=UTC)
    assert stamped.categories == ("技术进展", "机器人")
    assert [(item.number, item.url) for item in stamped.items] == [
        (1, "https://example.org/a"),
        (2, "https://example.org/b"),
    ]
    assert stamped.items[0].title == "开源推理模型发布"
    assert stamped.metadata["link"] == "https://example.org/posts/2031.04.02.08/"
    assert weekly.id.startswith("weekly-notes-")
    assert [(item.number, item.title) for item in weekly.items] == [(3, "Policy draft")]


async def test_atom_entry(server: FeedServer, poller_factory: Factory) -> None:
    server.serve(ATOM, "application/atom+xml")
    (entry,) = digests(await poller_factory().poll())
    assert entry.id == "2031.04.02.12"
    assert entry.date == datetime(2031, 4, 2, 4, 0, tzinfo=UTC)  # published, not updated
    assert entry.categories == ("policy-governance",)
    assert entry.items[0].title == "New rules proposed"
    assert entry.items[0].author == "Observer"


@pytest.mark.parametrize("version", ["https://jsonfeed.org/version/1", "https://jsonfeed.org/version/1.1"])
async def test_json_feed(server: FeedServer, poller_factory: Factory, version: str) -> None:
    server.serve(json_feed(version), "application/feed+json")
    found = await poller_factory().poll()
    (entry,) = digests(found)
    assert found[0].key == "https://example.org/posts/2031.04.02.16/"
    assert entry.id == "2031.04.02.16"
    assert entry.categories == ("技术进展",)
    assert len(entry.items) == 2
    # No date in the item: the title stamp read in the poller's default time zone.
    assert entry.date == datetime(2031, 4, 2, 16, tzinfo=CST)


async def test_json_feed_text_content_and_dates(server: FeedServer, poller_factory: Factory) -> None:
    server.serve(
        json_feed(content_html=None, content_text="Plain <text>", date_published="2031-04-02T09:30:00Z"),
        "application/json",
    )
    (entry,) = digests(await poller_factory().poll())
    assert entry.date == datetime(2031, 4, 2, 9, 30, tzinfo=UTC)
    assert entry.items == ()


# --- validators -------------------------------------------------------------------------------


async def test_etag_sends_if_none_match_and_304_means_nothing_new(
    server: FeedServer, poller_factory: Factory
) -> None:
    server.serve(rss(), ETag='"v1"')
    poller = poller_factory()
    assert len(await poller.poll()) == 2
    assert "If-None-Match" not in server.requests[0]
    assert await poller.poll() == []
    assert server.requests[1]["If-None-Match"] == '"v1"'
    assert poller.failures == 0


async def test_last_modified_sends_if_modified_since(server: FeedServer, poller_factory: Factory) -> None:
    stamp = format_datetime(datetime(2031, 4, 2, 1, 0, tzinfo=UTC), usegmt=True)
    server.serve(rss(), **{"Last-Modified": stamp})
    poller = poller_factory()
    assert len(await poller.poll()) == 2
    assert await poller.poll() == []
    assert server.requests[1]["If-Modified-Since"] == stamp
    assert "If-None-Match" not in server.requests[1]


async def test_changed_entry_comes_again_unchanged_does_not(
    server: FeedServer, poller_factory: Factory
) -> None:
    server.serve(rss())
    poller = poller_factory()
    first = {i.key: i.content_hash for i in await poller.poll()}
    assert await poller.poll() == []  # same document served again without validators
    server.serve(rss(first_summary="修改后的摘要。"))
    changed = await poller.poll()
    assert [i.key for i in changed] == ["post-20310402-08"]
    assert changed[0].content_hash != first["post-20310402-08"]
    assert digests(changed)[0].items[0].summary[0][0].text == "修改后的摘要。"


async def test_new_feed_first_poll_is_history_later_entries_are_news(
    server: FeedServer, poller_factory: Factory
) -> None:
    server.respond = lambda request: web.Response(status=500, text="down")
    poller = poller_factory(history_first=True)
    assert await poller.poll() == []  # a failed first poll does not use up the history poll
    server.serve(rss())
    first = await poller.poll()
    assert len(first) == 2 and all(i.history for i in first)
    server.serve(rss(first_summary="新的一期。"))
    later = await poller.poll()
    assert len(later) == 1 and not later[0].history


async def test_known_feed_first_poll_is_news(server: FeedServer, poller_factory: Factory) -> None:
    server.serve(rss())
    assert not any(i.history for i in await poller_factory().poll())


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


# --- pure pieces ------------------------------------------------------------------------------


async def test_duplicate_entry_ids_are_taken_once(server: FeedServer, poller_factory: Factory) -> None:
    document = json.loads(json_feed())
    document["items"] = [document["items"][0], {**document["items"][0], "title": "2031.04.02.17 copy"}]
    server.serve(json.dumps(document).encode(), "application/feed+json")
    poller = poller_factory()
    (only,) = digests(await poller.poll())
    assert only.id == "2031.04.02.16"
    assert await poller.poll() == []


def test_parse_feed_escapes_plain_text_content() -> None:
    body = b"""<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><id>urn:t</id>
    <entry><id>urn:t:1</id><title>x</title><summary type="text">1 &lt; 2

second &amp; last</summary></entry></feed>"""
    (entry,) = parse_feed(body, "https://example.org/feed")
    assert entry.key == "urn:t:1"
    assert entry.html == "<p>1 &lt; 2</p><p>second &amp; last</p>"


def test_entry_digest_id_without_stamp() -> None:
    entry = FeedEntry(key="urn:x:1", title="Notes", link=None, html="", published=None, tags=())
    assert entry_digest_id(entry).startswith("urn-x-1-")
    untitled = FeedEntry(key="://", title="", link="https://example.org/", html="", published=None, tags=())
    assert entry_digest_id(untitled).startswith("entry-")


def test_content_hash_tracks_every_visible_field() -> None:
    base = FeedEntry(
        key="k", title="T", link="https://example.org/x", html="<p>x</p>", published=None, tags=("a",)
    )
    variants = [
        FeedEntry(key="k", title="T2", link=base.link, html=base.html, published=None, tags=base.tags),
        FeedEntry(key="k", title="T", link=base.link, html="<p>y</p>", published=None, tags=base.tags),
        FeedEntry(key="k", title="T", link=base.link, html=base.html, published=None, tags=("b",)),
    ]
    assert len({base.fingerprint()[0], *(v.fingerprint()[0] for v in variants)}) == 4


def test_an_ordinary_entry_keeps_the_version_hash_earlier_releases_stored() -> None:
    """The store de-duplicates feed entries by this hash: if an upgrade changed it, every entry still
    in a feed would be stored again and logged as changed."""
    entry = FeedEntry(
        key="k", title="T", link="https://example.org/x", html="<p>x</p>", published=None, tags=("a",)
    )
    fields = ["k", "T", "https://example.org/x", "<p>x</p>", None, ["a"], None]
    earlier = json.dumps(fields, ensure_ascii=False)
    assert entry.fingerprint()[0] == hashlib.sha256(earlier.encode("utf-8")).hexdigest()


def test_redact_url() -> None:
    assert redact_url("https://user:secret@example.org:8443/feed?x=1") == "https://example.org:8443/feed?x=1"
    assert redact_url("https://example.org/feed") == "https://example.org/feed"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"url": "ftp://example.org/feed"}, "http"),
        ({"url": "file:///etc/passwd"}, "http"),
        ({"poll_interval": 0}, "positive"),
        ({"timeout": -1}, "positive"),
    ],
)
def test_bad_arguments_are_rejected(kwargs: dict[str, object], message: str) -> None:
    options: dict[str, object] = {"url": "https://example.org/feed"}
    options.update(kwargs)
    url = str(options.pop("url"))
    with pytest.raises(ValueError, match=message):
        FeedPoller("site", url, **options)  # type: ignore[arg-type]


async def test_absurdly_long_ids_and_links_are_kept_short(
    server: FeedServer, poller_factory: Factory
) -> None:
    """Keys are stored and error sources logged: a megabyte-long id or link must not end up there."""
    long_link = "https://example.org/" + "x" * 200_000
    server.serve(
        json_feed(id="i" * 200_000, url=long_link, content_html="<ol><li>" * 2000), "application/json"
    )
    (found,) = await poller_factory().poll()
    assert found.key.startswith("sha256:") and len(found.key) < 100
    assert isinstance(found.result, DigestError)  # nested too deeply: rejected, named by its link
    assert len(found.result.source) <= 1100 and found.result.source.endswith("…")
