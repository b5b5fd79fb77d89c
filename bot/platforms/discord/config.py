"""Discord's section of the config file: token, API and gateway hosts, servers, admins, rendering."""

from __future__ import annotations

from pydantic import Field, ValidationInfo, field_validator

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
    # Sharding over several processes: every process names the same count and its own ids.
    shard_count: int | None = Field(default=None, ge=1)
    shard_ids: list[int] | None = None

    @field_validator("shard_count", "shard_ids", mode="before")
    @classmethod
    def _from_environment(cls, value: object, info: ValidationInfo) -> object:
        """`${DIGESTBOT_SHARD_IDS:-}` in a container's config: empty means unset, "0,1" a list."""
        if not isinstance(value, str):
            return value
        text = value.strip()
        if not text:
            return None
        parts = [part.strip() for part in text.strip("[]").split(",")]
        if not all(part.isdigit() for part in parts):
            raise ValueError(f"expected a number or a comma-separated list of numbers, got {value!r}")
        numbers = [int(part) for part in parts]
        return numbers if info.field_name == "shard_ids" else numbers[0] if len(numbers) == 1 else value

    @field_validator("shard_ids")
    @classmethod
    def _shards_of_the_count(cls, ids: list[int] | None, info: ValidationInfo) -> list[int] | None:
        """Ids need the count (a guild's shard is (guild_id >> 22) % shard_count), and lie below it."""
        if ids is None:
            return None
        if "shard_count" not in info.data:
            return ids  # the count itself is wrong, and its own error says why
        count = info.data["shard_count"]
        if count is None:
            raise ValueError("needs discord.shard_count (the total number of shards of the bot)")
        if not ids:
            raise ValueError("must name at least one shard (leave it out to run them all)")
        outside = sorted({i for i in ids if not 0 <= i < count})
        if outside:
            raise ValueError(f"shard ids must be 0..{count - 1} (shard_count {count}); got {outside}")
        if len(set(ids)) != len(ids):
            raise ValueError("names a shard twice")
        return ids

    @property
    def report_chat(self) -> str | None:
        """The configured error channel, if any."""
        return str(self.error_channel) if self.error_channel is not None else None
