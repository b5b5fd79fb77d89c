"""A site feed, polled politely: conditional GETs, a timeout, and exponential backoff while it fails.

A failing feed is logged once when it starts failing (and again only if the reason changes), once
when it recovers, and never raises out of `poll()`, so one broken site cannot stop the other sources.
The ETag / Last-Modified validators are kept only after a body parsed, so a broken document is
fetched again in full instead of being hidden behind a 304.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from urllib.parse import urlsplit, urlunsplit

import aiohttp

from bot.core.clock import Clock, SystemClock
from bot.core.errors import DigestError
from bot.core.model import Digest
from bot.logs import redact
from bot.net.aiohttp_route import AiohttpRoute
from bot.sources.base import Incoming, poll_forever
from bot.sources.feed_entries import FeedEntry, FeedFormatError, entry_source, entry_to_digest, parse_feed

NewSourceCheck = Callable[[], Awaitable[bool]]  # whether nothing of the source is stored yet

log = logging.getLogger(__name__)

USER_AGENT = "digestbot/0.1 (feed poller)"
ACCEPT = (
    "application/feed+json, application/atom+xml, application/rss+xml, "
    "application/json;q=0.9, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)
_FAR_FUTURE = datetime.max.replace(tzinfo=UTC)
DEFAULT_MAX_FEED_BYTES = 10 * 1024 * 1024
DEFAULT_MAX_ENTRY_BYTES = 524_288


class FeedFailure(Exception):
    """One failed poll: unreachable, timed out, an HTTP error or a document that is not a feed."""


@dataclass(frozen=True, slots=True)
class _Fetched:
    body: bytes
    headers: dict[str, str]


def redact_url(url: str) -> str:
    """The URL without user:password, fit for logs."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


class FeedPoller:
    """Polls one RSS/Atom/JSON feed; `poll()` returns entries that are new or changed since last time.

    `session` may be shared with other pollers (it is then not closed here); without one, the poller
    opens its own on first use and closes it in `aclose()` or when `run()` ends. `route` is the
    proxy (bot.net.aiohttp_route); a SOCKS one needs the poller's own session.
    """

    def __init__(
        self,
        name: str,
        url: str,
        poll_interval: float = 600.0,
        timeout: float = 20.0,
        default_tz: tzinfo | None = None,
        *,
        session: aiohttp.ClientSession | None = None,
        max_backoff: float = 3600.0,
        max_bytes: int = DEFAULT_MAX_FEED_BYTES,
        max_entry_bytes: int = DEFAULT_MAX_ENTRY_BYTES,
        clock: Clock | None = None,
        history_first: bool | NewSourceCheck = False,
        route: AiohttpRoute | None = None,
    ) -> None:
        if urlsplit(url).scheme not in ("http", "https"):
            raise ValueError(f"source {name!r}: feed url must be http(s), got {url!r}")
        if min(poll_interval, timeout, max_backoff, max_bytes, max_entry_bytes) <= 0:
            raise ValueError(
                f"source {name!r}: poll_interval, timeout, max_backoff, max_bytes and max_entry_bytes"
                " must be positive"
            )
        self.name = name
        self.url = url
        self.poll_interval = poll_interval
        self.timeout = timeout
        self.default_tz = default_tz
        self.max_backoff = max(max_backoff, poll_interval)
        self.max_bytes = max_bytes
        self.max_entry_bytes = max_entry_bytes
        self.failures = 0
        self._clock = clock or SystemClock()
        self._route = route or AiohttpRoute()
        if session is not None and self._route.socks:
            raise ValueError(f"source {name!r}: a SOCKS proxy needs the poller's own session")
        self._session = session
        self._owns_session = session is None
        self._etag: str | None = None
        self._last_modified: str | None = None
        self._seen: dict[str, str] = {}
        self._problem: str | None = None
        # Decided now, or at the first poll (several processes: the one that polls first may not
        # be the one that started first, and what another stored meanwhile is not history).
        self._history_next = history_first if isinstance(history_first, bool) else False
        self._decide_history = None if isinstance(history_first, bool) else history_first

    @property
    def next_delay(self) -> float:
        """Seconds until the next poll: the interval, doubled per consecutive failure, capped."""
        return min(self.poll_interval * 2.0 ** min(self.failures, 32), self.max_backoff)

    async def run(self, queue: asyncio.Queue[Incoming]) -> None:
        """Poll until cancelled, waiting `next_delay` between polls."""
        try:
            await poll_forever(self, queue, self._clock.sleep, redact_url(self.url))
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None

    async def poll(self) -> list[Incoming]:
        """One conditional GET; never raises for network, HTTP or format problems (they are logged)."""
        if self._decide_history is not None:
            self._history_next = await self._decide_history()
            self._decide_history = None
        try:
            fetched = await self._fetch()
            entries = [] if fetched is None else await self._parse(fetched)
        except (FeedFailure, FeedFormatError) as exc:
            self._failed(str(exc))
            return []
        self._succeeded()
        if fetched is None:
            return []
        self._etag = fetched.headers.get("etag") or None
        self._last_modified = fetched.headers.get("last-modified") or None
        return await asyncio.to_thread(self._changed, entries, self._clock.now())

    async def _parse(self, fetched: _Fetched) -> list[FeedEntry]:
        """The entries, parsed in a worker thread (a big feed takes seconds); any parser crash is a
        FeedFormatError, so it counts as a failed poll with backoff instead of escaping the poller."""
        try:
            return await asyncio.to_thread(parse_feed, fetched.body, self.url, fetched.headers)
        except FeedFormatError:
            raise
        except RecursionError:
            raise FeedFormatError("the document is nested too deeply to parse") from None
        except Exception as exc:
            log.debug("feed %s: the parser failed", self.name, exc_info=True)
            raise FeedFormatError(f"the document could not be parsed ({type(exc).__name__})") from None

    async def _fetch(self) -> _Fetched | None:
        """The feed body, or None for 304 Not Modified."""
        headers = {"User-Agent": USER_AGENT, "Accept": ACCEPT}
        if self._etag:
            headers["If-None-Match"] = self._etag
        if self._last_modified:
            headers["If-Modified-Since"] = self._last_modified
        if self._session is None:
            self._session = self._route.session()
        try:
            async with self._session.get(
                self.url,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                **self._route.request_options(),
            ) as response:
                if response.status == 304:
                    return None
                if not 200 <= response.status < 300:
                    raise FeedFailure(
                        f"HTTP {response.status} {response.reason or ''}".rstrip() + self._via()
                    )
                body = await self._read_body(response)
                return _Fetched(body, {k.lower(): v for k, v in response.headers.items()})
        except TimeoutError:
            raise FeedFailure(f"no complete response within {self.timeout:g} s") from None
        except aiohttp.ClientError as exc:
            raise FeedFailure(f"request failed: {self._describe(exc)}") from None

    def _describe(self, exc: BaseException) -> str:
        """The failure, naming the proxy (never its password) when the feed goes through one."""
        reason = str(exc) or type(exc).__name__
        proxy = self._route.proxy
        return reason if proxy is None else redact(reason, proxy.secrets()) + self._via()

    def _via(self) -> str:
        """The "(through the proxy ...)" suffix of failure messages: which hop failed, no password."""
        proxy = self._route.proxy
        return "" if proxy is None else f" (through the proxy {proxy.shown})"

    async def _read_body(self, response: aiohttp.ClientResponse) -> bytes:
        """The body, read in chunks and abandoned as soon as it passes `max_bytes` (never all of it)."""
        too_big = FeedFailure(f"the feed is larger than the {self.max_bytes}-byte limit (max_feed_bytes)")
        if response.content_length is not None and response.content_length > self.max_bytes:
            raise too_big
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.content.iter_chunked(1 << 16):
            size += len(chunk)
            if size > self.max_bytes:
                raise too_big
            chunks.append(chunk)
        return b"".join(chunks)

    def _changed(self, entries: list[FeedEntry], now: datetime) -> list[Incoming]:
        """Entries whose (id, content hash) was not in the previous document, oldest first."""
        unique: dict[str, FeedEntry] = {}
        for entry in entries:
            unique.setdefault(entry.key, entry)
        versions = {key: entry.fingerprint() for key, entry in unique.items()}
        fresh = [entry for key, entry in unique.items() if self._seen.get(key) != versions[key][0]]
        self._seen = {key: content_hash for key, (content_hash, _) in versions.items()}
        fresh.reverse()
        fresh.sort(key=lambda entry: entry.published or _FAR_FUTURE)
        history, self._history_next = self._history_next, False
        if history and fresh:
            log.info(
                "feed %s: first poll, %d existing entries kept as history (not sent)", self.name, len(fresh)
            )
        return [self._incoming(entry, *versions[entry.key], now, history) for entry in fresh]

    def _incoming(
        self, entry: FeedEntry, content_hash: str, size: int, now: datetime, history: bool
    ) -> Incoming:
        result = self._digest(entry, size, now)
        if isinstance(result, DigestError):  # the store logs this once: name the feed as well
            result = DigestError(f"feed {self.name!r} entry {result.source}", result.reason, result.line)
        return Incoming(self.name, entry.key, content_hash, result, history=history)

    def _digest(self, entry: FeedEntry, size: int, now: datetime) -> Digest | DigestError:
        """The entry as a digest, or the error that rejects it alone."""
        source = entry_source(entry, self.url)
        if size > self.max_entry_bytes:
            limit = f"{self.max_entry_bytes}-byte limit (max_digest_bytes)"
            return DigestError(source, f"larger than the {limit}")
        try:
            return entry_to_digest(entry, feed_url=self.url, default_tz=self.default_tz, now=now)
        except DigestError as exc:
            return exc
        except Exception as exc:
            log.exception("feed %s: the parser failed on entry %s", self.name, entry.key)
            return DigestError(source, f"could not be parsed ({type(exc).__name__})")

    def _failed(self, reason: str) -> None:
        self.failures += 1
        if reason != self._problem:
            log.error(
                "feed %s (%s): %s; retrying in %g s", self.name, redact_url(self.url), reason, self.next_delay
            )
            self._problem = reason
        else:
            log.debug("feed %s still failing: %s", self.name, reason)

    def _succeeded(self) -> None:
        if self._problem is not None:
            log.info("feed %s (%s) recovered", self.name, redact_url(self.url))
            self._problem = None
        self.failures = 0
