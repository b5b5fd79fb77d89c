"""Discord's section of the config file: token, API and gateway hosts, servers, admins, rendering."""

from __future__ import annotations

from pydantic import Field

from bot.delivery.config import RateLimits
from bot.platforms.bot_config import BotPlatformConfig

DEFAULT_DISCORD_API_BASE = "https://discord.com/api/v10"
DEFAULT_DISCORD_GATEWAY = "wss://gateway.discord.gg/"


class DiscordConfig(BotPlatformConfig):
    api_base: str = DEFAULT_DISCORD_API_BASE
    gateway_url: str = DEFAULT_DISCORD_GATEWAY
    guilds: list[int] = Field(default_factory=list)
    embeds: bool = True
    link_previews: bool = False
    rate_limits: RateLimits = RateLimits(global_per_second=45, per_chat_per_second=4)
    error_channel: int | None = Field(default=None, gt=0)  # where problem summaries go

    @property
    def report_chat(self) -> str | None:
        """The configured error channel, if any."""
        return str(self.error_channel) if self.error_channel is not None else None
