"""A feed on loopback for the feed poller tests: RSS, Atom and JSON Feed bodies, a server whose answers
the test sets, and the `server` and `poller_factory` fixtures (registered in conftest.py).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from datetime import timedelta, timezone

import pytest
from aiohttp import web

from bot.core.model import Digest
from bot.sources.base import Incoming
from bot.sources.feed import FeedPoller

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
    """A started feed server that answers 404 until the test says otherwise."""
    fake = FeedServer()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def poller_factory(server: FeedServer) -> AsyncIterator[Callable[..., FeedPoller]]:
    """Pollers of `server` (slow polling, short timeout, China time by default), all closed at the end."""
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
    """The digests of a poll, failing the test if any entry came back as an error instead."""
    result = [i.result for i in found]
    assert all(isinstance(d, Digest) for d in result), result
    return result  # type: ignore[return-value]
