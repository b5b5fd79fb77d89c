"""The feed source: formats, conditional requests' validators, and the pure pieces (ids, redaction).

Failures, back-off and size limits are in test_feed_failures.py.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest
from aiohttp import web
from feed_server import (
    ATOM,
    CST,
    Factory,
    FeedServer,
    digests,
    json_feed,
    rss,
)

from bot.core.errors import DigestError
from bot.sources.feed import FeedPoller, redact_url
from bot.sources.feed_entries import FeedEntry, entry_digest_id, parse_feed

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


async def test_whether_a_feed_is_new_is_asked_at_its_first_poll(
    server: FeedServer, poller_factory: Factory
) -> None:
    """Several processes: a standby built its poller when nothing was stored, but by the time it
    first polls (having taken the source over) another process stored the feed: its news is news."""
    asked: list[str] = []
    stored = {"by another process": False}

    async def is_new() -> bool:
        asked.append("asked")
        return not stored["by another process"]

    server.serve(rss())
    poller = poller_factory(history_first=is_new)
    stored["by another process"] = True
    first = await poller.poll()
    assert asked == ["asked"] and len(first) == 2 and not any(i.history for i in first)
    await poller.poll()
    assert asked == ["asked"]  # once


async def test_known_feed_first_poll_is_news(server: FeedServer, poller_factory: Factory) -> None:
    server.serve(rss())
    assert not any(i.history for i in await poller_factory().poll())


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
