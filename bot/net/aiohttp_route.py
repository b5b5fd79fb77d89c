"""A proxy as aiohttp takes it: `proxy=` (credentials in the URL) for HTTP proxies, a connector
(aiohttp-socks) for SOCKS5, which aiohttp cannot speak itself. Feeds and the platforms built on
aiohttp use it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp_socks import ProxyConnectionError, ProxyConnector, ProxyError, ProxyTimeoutError, ProxyType

from bot.net.proxy import Proxy


class SocksProxyError(aiohttp.ClientConnectionError):
    """A SOCKS proxy that is unreachable, timed out or refused: an aiohttp.ClientError like any
    other connection failure, so a platform client reconnects and the feed poller backs off as usual."""


class _SocksConnector(ProxyConnector):
    """aiohttp-socks' connector, its own exception types turned into SocksProxyError."""

    async def _wrap_create_connection(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return await super()._wrap_create_connection(*args, **kwargs)
        except (ProxyConnectionError, ProxyTimeoutError, ProxyError) as exc:
            raise SocksProxyError(f"SOCKS proxy: {exc}") from None


@dataclass(frozen=True, slots=True)
class AiohttpRoute:
    """How one aiohttp session reaches its targets; the default goes direct."""

    proxy: Proxy | None = None

    @property
    def socks(self) -> bool:
        """SOCKS needs a connector of its own, so a session opened for this route."""
        return self.proxy is not None and self.proxy.socks

    @property
    def http_proxy(self) -> str | None:
        """The `proxy=` argument for an HTTP(S) proxy. Credentials ride in the URL: aiohttp turns
        them into Proxy-Authorization (for CONNECT too), and its `proxy_auth=` is deprecated."""
        return None if self.proxy is None or self.proxy.socks else self.proxy.url

    def request_options(self) -> dict[str, Any]:
        """Keyword arguments for each request (empty when direct or when the connector does it)."""
        return {} if self.http_proxy is None else {"proxy": self.http_proxy}

    def connector(self, **options: Any) -> aiohttp.BaseConnector | None:
        """A SOCKS5 connector (None for other routes: aiohttp's default connector serves them)."""
        proxy = self.proxy
        if proxy is None or not proxy.socks:
            return None
        return _SocksConnector(
            host=proxy.host,
            port=proxy.port,
            proxy_type=ProxyType.SOCKS5,
            username=proxy.username,
            password=proxy.password,
            rdns=proxy.remote_dns,
            **options,
        )

    def session(self, **options: Any) -> aiohttp.ClientSession:
        """A session on this route; the caller still passes `request_options()` to each request."""
        return aiohttp.ClientSession(connector=self.connector(), **options)
