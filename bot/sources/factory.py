"""Config source entries -> running sources, so the composition root needs one call per source."""

from __future__ import annotations

from datetime import tzinfo

import aiohttp

from bot.config import DirectorySource, FeedSource
from bot.core.clock import Clock
from bot.net import proxy as proxies
from bot.net.aiohttp_route import AiohttpRoute
from bot.sources.base import Source
from bot.sources.directory import DirectoryWatcher
from bot.sources.feed import FeedPoller, NewSourceCheck


def build_source(
    spec: DirectorySource | FeedSource,
    *,
    default_tz: tzinfo,
    max_bytes: int,
    max_feed_bytes: int,
    session: aiohttp.ClientSession | None = None,
    clock: Clock | None = None,
    new_source: bool | NewSourceCheck = False,
    proxy: str | None = None,
) -> Source:
    """A watcher or poller for one `sources:` entry; `session` is shared by feed pollers when given.

    `max_bytes` caps a digest file or one feed entry, `max_feed_bytes` a whole feed document; `clock`
    dates a feed's entries and paces its polls.

    `proxy` is the top-level `proxy:` setting; a feed's own `proxy` overrides it.

    `new_source` (nothing of it stored yet, or a check run at the first poll): a feed's first poll
    is kept as history, not sent; a folder's files are all sent, since the operator put them there
    to be published.
    """
    if isinstance(spec, DirectorySource):
        return DirectoryWatcher(
            spec.name,
            spec.path,
            pattern=spec.pattern,
            poll_interval=spec.poll_interval,
            max_bytes=max_bytes,
            default_tz=default_tz,
        )
    return FeedPoller(
        spec.name,
        spec.url,
        poll_interval=spec.poll_interval,
        timeout=spec.timeout,
        default_tz=default_tz,
        max_bytes=max_feed_bytes,
        max_entry_bytes=max_bytes,
        session=session,
        clock=clock,
        history_first=new_source,
        route=AiohttpRoute(proxies.resolve(proxies.choose(spec.proxy, proxy), spec.url)),
    )
