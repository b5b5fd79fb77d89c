"""Discord's section of the config file: token, API and gateway hosts, servers, admins, rendering."""

from __future__ import annotations

from pydantic import Field, field_validator

from bot.core.strict import Strict
from bot.delivery.config import RateLimits
from bot.platforms.bot_config import BotPlatformConfig

DEFAULT_DISCORD_API_BASE = "https://discord.com/api/v10"
DEFAULT_DISCORD_GATEWAY = "wss://gateway.discord.gg/"


# Discord refuses webhook names with these words (400 Invalid Form Body) and longer than 80 characters.
FORBIDDEN_WEBHOOK_WORDS = ("discord", "clyde")


class WebhookConfig(Strict):
    """How digests sent through a channel webhook (`/digest webhook on`) show their author."""

    name: str = Field(default="Digest", min_length=1, max_length=80)
    avatar_url: str | None = None

    @field_validator("name")
    @classmethod
    def _allowed_name(cls, name: str) -> str:
        if any(word in name.casefold() for word in FORBIDDEN_WEBHOOK_WORDS):
            raise ValueError(
                f"Discord refuses webhook names containing {' or '.join(FORBIDDEN_WEBHOOK_WORDS)}"
            )
        return name

    @field_validator("avatar_url")
    @classmethod
    def _http_avatar(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL of an image")
        return url


class DiscordConfig(BotPlatformConfig):
    api_base: str = DEFAULT_DISCORD_API_BASE
    gateway_url: str = DEFAULT_DISCORD_GATEWAY
    guilds: list[int] = Field(default=[])
    embeds: bool = True
    link_previews: bool = False
    rate_limits: RateLimits = RateLimits(global_per_second=45, per_chat_per_second=4)
    error_channel: int | None = Field(default=None, gt=0)  # where problem summaries go
    webhook: WebhookConfig = WebhookConfig()
    forum_tag: str | None = Field(default=None, min_length=1, max_length=20)  # Discord's tag name limit

    @property
    def report_chat(self) -> str | None:
        """The configured error channel, if any."""
        return str(self.error_channel) if self.error_channel is not None else None
