"""Telegram's section of the config file: token, webhook, API host, admins and pacing."""

from __future__ import annotations

import re
import secrets
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator

from bot.core.strict import Strict
from bot.delivery.config import RateLimits
from bot.platforms.bot_config import BotPlatformConfig

DEFAULT_TELEGRAM_BASE_URL = "https://api.telegram.org/bot"
# Telegram posts webhook updates only to these ports (setWebhook refuses any other).
WEBHOOK_PORTS = (443, 80, 88, 8443)
GENERATED_SECRET_BYTES = 32  # 43 characters
# Telegram's ceiling for paid broadcasts (allow_paid_broadcast), in messages per second.
PAID_BROADCAST_CEILING = 1000


class TelegramRateLimits(RateLimits):
    """Telegram's limits plus the global pace of digest sends while paid broadcasts are on."""

    paid_per_second: float = Field(default=float(PAID_BROADCAST_CEILING), gt=0, le=PAID_BROADCAST_CEILING)


class TelegramWebhook(Strict):
    """Webhook mode instead of long polling: Telegram posts updates to `url`, we listen locally."""

    url: str = Field(pattern=r"^https://")
    listen: str = "0.0.0.0"
    port: int = Field(default=8443, ge=1, le=65535)
    path: str = ""
    secret_token: SecretStr = Field(default=None, validate_default=True)

    @field_validator("url")
    @classmethod
    def _check_port(cls, url: str) -> str:
        """Caught here, a wrong port is a config error naming the key, not a refusal at start-up."""
        try:
            port = urlsplit(url).port or 443
        except ValueError:
            raise ValueError("the port is not a number from 0 to 65535") from None
        if port not in WEBHOOK_PORTS:
            raise ValueError(
                f"Telegram sends webhooks only to ports 443, 80, 88 or 8443; this URL uses {port}"
            )
        return url

    @field_validator("secret_token", mode="before")
    @classmethod
    def _generate_secret(cls, value: object) -> object:
        """Without a secret anyone who learns the URL can post forged updates, so a missing or empty
        one is generated (token_urlsafe uses only A-Z, a-z, 0-9, _ and -), new for every start."""
        return secrets.token_urlsafe(GENERATED_SECRET_BYTES) if value in (None, "") else value

    @field_validator("secret_token")
    @classmethod
    def _check_secret(cls, value: SecretStr) -> SecretStr:
        """Telegram accepts 1-256 characters of A-Z, a-z, 0-9, _ and - in a webhook secret."""
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", value.get_secret_value()):
            raise ValueError("must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
        return value


class TelegramConfig(BotPlatformConfig):
    webhook: TelegramWebhook | None = None
    base_url: str = DEFAULT_TELEGRAM_BASE_URL
    base_file_url: str | None = None
    link_previews: bool = False
    rate_limits: TelegramRateLimits = TelegramRateLimits(
        global_per_second=30, per_chat_per_second=1, per_group_per_minute=20
    )
    # Digest sends carry allow_paid_broadcast and go at rate_limits.paid_per_second (costs Stars).
    paid_broadcast: bool = False
    # Where problem summaries go: a chat id (a group's negative id, or a user's own id).
    error_chat: int | None = None

    @field_validator("rate_limits", mode="before")
    @classmethod
    def _widen_limits(cls, value: object) -> object:
        """Plain `RateLimits` (built in code, not read from the file) take the paid pace's default."""
        if isinstance(value, RateLimits) and not isinstance(value, TelegramRateLimits):
            return value.model_dump()
        return value

    @property
    def report_chat(self) -> str | None:
        """The configured error chat, if any."""
        return str(self.error_chat) if self.error_chat is not None else None

    def secrets(self) -> list[str]:
        """The bot token, the webhook's secret token and the proxy's password, when set."""
        webhook = [self.webhook.secret_token.get_secret_value()] if self.webhook is not None else []
        return super().secrets() + webhook
