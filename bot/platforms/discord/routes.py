"""Our client's own API host and gateway, without touching discord.py's process-wide defaults.

discord.py builds every REST URL from the class attribute `discord.http.Route.BASE` and opens the
first gateway connection on `DiscordWebSocket.DEFAULT_GATEWAY`. Setting those would reroute every
discord.py client in the process (and leak into tests that run one after another), so instead the
URL is rewritten where our client sends it, and nowhere else:

- REST calls: `RoutedHTTPClient.request` (a `discord.http.HTTPClient` subclass) moves each route
  from the default base to `api_base`;
- interaction responses and followups go through discord.py's webhook adapter, which it takes from
  the context variable `async_context`: the gateway task runs in a context holding our
  `RoutedWebhookAdapter` (see `routed_context`), so only the tasks of this client see it;
- the gateway: `RoutedHTTPClient.ws_connect` swaps the default gateway for `gateway_url` (resumes
  are pinned by the platform, see `DiscordPlatform.pin_gateway`);
- a network proxy (`AiohttpRoute`) is given to discord.py's own HTTPClient parameters, so every
  one of the routes above goes through it.
"""

from __future__ import annotations

import asyncio
import contextvars
from typing import Any

import aiohttp
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import HTTPClient, Route
from discord.webhook.async_ import AsyncWebhookAdapter, async_context

from bot.net.aiohttp_route import AiohttpRoute
from bot.platforms.discord.pacing import SendWindow


def rebase(url: str, api_base: str) -> str:
    """`url` moved from discord.py's default API base to `api_base` (other URLs stay as they are)."""
    default = Route.BASE
    return api_base.rstrip("/") + url[len(default) :] if url.startswith(default) else url


class RoutedHTTPClient(HTTPClient):
    """discord.py's HTTP client, sending to `api_base` and connecting to `gateway_url`."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        *,
        api_base: str,
        gateway_url: str,
        max_ratelimit_timeout: float | None = None,
        route: AiohttpRoute | None = None,
        per_second: float | None = None,
    ) -> None:
        route = route or AiohttpRoute()
        # The proxy serves REST, interaction replies and the gateway alike: discord.py passes
        # `proxy` to each request and to ws_connect, and all share the connector.
        super().__init__(
            loop,
            route.connector(limit=0),
            proxy=route.http_proxy,
            max_ratelimit_timeout=max_ratelimit_timeout,
        )
        self.api_base = api_base
        self.gateway = yarl.URL(gateway_url)
        # At most `per_second` REST requests leave in any second (see bot.platforms.discord.pacing).
        self.window = SendWindow(per_second) if per_second is not None else None

    async def request(self, route: Route, **kwargs: Any) -> Any:
        route.url = rebase(route.url, self.api_base)
        if self.window is not None:
            await self.window.wait()
        return await super().request(route, **kwargs)

    async def ws_connect(self, url: str, *, compress: int = 0) -> aiohttp.ClientWebSocketResponse:
        wanted = yarl.URL(url)
        if wanted.with_query(None) == DiscordWebSocket.DEFAULT_GATEWAY:
            wanted = self.gateway.with_query(wanted.query)
        return await super().ws_connect(str(wanted), compress=compress)


class RoutedWebhookAdapter(AsyncWebhookAdapter):
    """The webhook adapter interactions answer through, sending to `api_base`."""

    def __init__(self, api_base: str) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # discord.py leaves this __init__ unannotated
        self.api_base = api_base

    async def request(self, route: Route, *args: Any, **kwargs: Any) -> Any:
        route.url = rebase(route.url, self.api_base)
        return await super().request(route, *args, **kwargs)


def routed_context(api_base: str) -> contextvars.Context:
    """A copy of the current context in which interaction replies go to `api_base`; tasks started
    in it (the gateway task and every event it dispatches) inherit it."""
    context = contextvars.copy_context()
    context.run(async_context.set, RoutedWebhookAdapter(api_base))
    return context
