"""Webhook mode on aiohttp: Telegram POSTs updates to us and they join PTB's update queue.

PTB's own `Updater.start_webhook` needs tornado (the `webhooks` extra); aiohttp is already a
dependency and is what the tests' fake server runs on, so the webhook path is tested end to end
without another web framework. This is PTB's documented "custom webhook" arrangement: an Application
without an Updater, fed through `application.update_queue`.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from telegram import Update
from telegram.ext import Application

from bot.platforms.telegram.config import TelegramWebhook

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY_BYTES = 1 << 20
# The server uses only the application's bot and update queue, whatever its context types are.
AnyApplication = Application[Any, Any, Any, Any, Any, Any]


def local_path(config: TelegramWebhook) -> str:
    """The path we listen on: `path` when set, else the public URL's path (proxies often keep it)."""
    path = config.path or urlsplit(config.url).path or "/"
    return path if path.startswith("/") else f"/{path}"


class WebhookServer:
    """Listens on `listen:port`, registers `url` with Telegram, queues every authentic update.

    Every request must carry the secret token (configured, or generated at start by the config):
    without it, anyone who learns the URL could post forged updates in any chat's name.
    """

    def __init__(
        self, application: AnyApplication, config: TelegramWebhook, allowed_updates: Sequence[str]
    ) -> None:
        self._application = application
        self._config = config
        self._allowed_updates = list(allowed_updates)
        self._secret = config.secret_token.get_secret_value().encode()
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application(client_max_size=MAX_BODY_BYTES)
        app.router.add_post(local_path(self._config), self._receive)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        self._runner = runner
        await web.TCPSite(runner, self._config.listen, self._config.port).start()
        await self._application.bot.set_webhook(
            self._config.url, secret_token=self._secret.decode(), allowed_updates=self._allowed_updates
        )
        log.info("telegram: webhook listening on %s:%s", self._config.listen, self._config.port)

    async def stop(self) -> None:
        """Stop listening; the webhook stays registered so Telegram queues updates until we return."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _receive(self, request: web.Request) -> web.Response:
        """Authenticate first, then bound the body, and only then parse it."""
        offered = request.headers.get(SECRET_HEADER, "").encode("utf-8", "replace")
        if not hmac.compare_digest(offered, self._secret):
            return web.Response(status=403, text="wrong secret token")
        try:
            body = await request.read()  # at most client_max_size bytes
        except web.HTTPRequestEntityTooLarge:
            return web.Response(status=413, text="update too large")
        try:
            data = json.loads(body)
            if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
                raise ValueError("expected a JSON object with an update_id")
            update = Update.de_json(data, self._application.bot)
        except Exception as exc:
            log.warning("telegram: webhook body rejected: %s", type(exc).__name__)
            return web.Response(status=400, text="not a Telegram update")
        await self._application.update_queue.put(update)
        return web.Response(text="ok")
