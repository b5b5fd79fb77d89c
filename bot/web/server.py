"""The optional HTTP server (aiohttp.web): /healthz, /metrics, the dashboard and its progress JSON.

/healthz needs no token (container health checks) and names only states, never settings. With
`http.token` set, the dashboard and /metrics need it: `Authorization: Bearer TOKEN`, or once
`/?token=TOKEN`, which sets an HttpOnly cookie (a keyed hash of the token, never the token itself)
and redirects to a clean URL. Without a token the dashboard is refused and /metrics is open.
Access logs are off: the dashboard polls every second, and a `?token=` URL must not reach a log.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import secrets
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from bot.core.clock import Clock
from bot.store.db import Store, StoreUnavailable
from bot.web.config import HttpConfig
from bot.web.metrics import Metrics
from bot.web.page import progress_json, render_page

log = logging.getLogger(__name__)

COOKIE = "digestbot_session"
PROGRESS_TTL = 1.0  # seconds one progress answer is reused: many open dashboards cost one query


class WebServer:
    """`await start()` binds the port (`port` is then the real one); `await stop()` closes it."""

    def __init__(
        self,
        config: HttpConfig,
        store: Store,
        metrics: Metrics,
        health: Callable[[], list[str]],
        clock: Clock,
    ) -> None:
        self._config = config
        self._store = store
        self._metrics = metrics
        self._health = health
        self._clock = clock
        token = config.token.get_secret_value()
        self._token = token.encode()
        self._session = hmac.new(self._token, b"digestbot dashboard", hashlib.sha256).hexdigest().encode()
        self._progress: tuple[float, dict[str, Any]] | None = None
        self._runner: web.AppRunner | None = None
        self.port = config.port

    async def start(self) -> None:
        app = web.Application(client_max_size=4096)  # the server takes no request bodies
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/metrics", self._metrics_page)
        app.router.add_get("/", self._dashboard)
        app.router.add_get("/api/progress", self._progress_page)
        self._runner = runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, self._config.listen, self._config.port)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            self._runner = None
            raise RuntimeError(
                f"http: cannot listen on {self._config.listen}:{self._config.port}: {exc.strerror or exc}"
            ) from None
        if runner.addresses:
            self.port = int(runner.addresses[0][1])
        log.info("http server on http://%s:%d/ (healthz, metrics, dashboard)", self._config.listen, self.port)
        if not self._config.token.get_secret_value() and not is_loopback(self._config.listen):
            log.warning(
                "http: listening on %s without a token: /metrics is open to the network "
                "(set http.token, or listen on 127.0.0.1)",
                self._config.listen,
            )

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def url(self) -> str:
        host = self._config.listen
        return f"http://{f'[{host}]' if ':' in host else host}:{self.port}/"

    async def _healthz(self, request: web.Request) -> web.Response:
        problems = self._health()
        if problems:
            return web.Response(status=503, text="\n".join(problems) + "\n")
        return web.Response(text="ok\n")

    async def _metrics_page(self, request: web.Request) -> web.Response:
        if self._token and not self._authorized(request):
            return _unauthorized()
        try:
            body = await self._metrics.exposition(self._store)
        except StoreUnavailable:
            return web.Response(status=503, text="database unavailable\n")
        return web.Response(body=body, headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"})

    async def _dashboard(self, request: web.Request) -> web.Response:
        if not self._token:
            return web.Response(status=403, text="the dashboard needs http.token in the config\n")
        given = request.query.get("token")
        if given is not None:
            if not hmac.compare_digest(given.encode(), self._token):
                return _unauthorized()
            raise web.HTTPSeeOther("./", headers=self._cookie_headers(request))  # relative: proxies
        if not self._authorized(request):
            return _unauthorized()
        now = self._clock.now()
        try:
            overview = await self._store.overview(now)
            progress = await self._store.broadcast_progress(now)
        except StoreUnavailable:
            return web.Response(status=503, text="database unavailable\n")
        nonce = secrets.token_urlsafe(16)
        page = render_page(overview, progress, now, nonce)
        response = web.Response(text=page, content_type="text/html")
        response.headers.update(self._cookie_headers(request))  # later polls need no header
        response.headers["Cache-Control"] = "no-store"
        # Defence in depth behind the escaping: only the page's own script runs, and only here.
        response.headers["Content-Security-Policy"] = (
            f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'unsafe-inline'; "
            "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
        )
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    async def _progress_page(self, request: web.Request) -> web.Response:
        if not self._token or not self._authorized(request):
            return _unauthorized()
        cached, moment = self._progress, time.monotonic()
        if cached is None or moment - cached[0] > PROGRESS_TTL:
            now = self._clock.now()
            try:
                cached = (moment, progress_json(await self._store.broadcast_progress(now), now))
            except StoreUnavailable:
                return web.json_response({"error": "database unavailable"}, status=503)
            self._progress = cached
        return web.json_response(cached[1], headers={"Cache-Control": "no-store"})

    def _authorized(self, request: web.Request) -> bool:
        """A bearer token or the session cookie, compared in constant time."""
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and value:
            return hmac.compare_digest(value.strip().encode(), self._token)
        cookie = request.cookies.get(COOKIE)
        return cookie is not None and hmac.compare_digest(cookie.encode(), self._session)

    def _cookie_headers(self, request: web.Request) -> dict[str, str]:
        secure = "; Secure" if request.secure else ""
        cookie = f"{COOKIE}={self._session.decode()}; Path=/; HttpOnly; SameSite=Strict{secure}"
        return {"Set-Cookie": cookie}


def _unauthorized() -> web.Response:
    return web.Response(
        status=401, text="a valid token is needed\n", headers={"WWW-Authenticate": 'Bearer realm="digestbot"'}
    )


def is_loopback(host: str) -> bool:
    """Whether only this machine can reach `host` (a name other than localhost counts as reachable)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
