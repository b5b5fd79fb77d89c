"""Discord's section of the config file: token, API and gateway hosts, servers, admins, rendering."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator

from bot.commands.config import CommandBudgetConfig
from bot.core.strict import Strict
from bot.delivery.config import RateLimits
from bot.net import proxy as proxies

DEFAULT_DISCORD_API_BASE = "https://discord.com/api/v10"
DEFAULT_DISCORD_GATEWAY = "wss://gateway.discord.gg/"


class DiscordConfig(Strict):
    token: SecretStr = SecretStr("")
    api_base: str = DEFAULT_DISCORD_API_BASE
    gateway_url: str = DEFAULT_DISCORD_GATEWAY
    guilds: list[int] = Field(default_factory=list)
    admins: list[int] = Field(default_factory=list)
    embeds: bool = True
    link_previews: bool = False
    rate_limits: RateLimits = RateLimits(global_per_second=45, per_chat_per_second=4)
    command_budget: CommandBudgetConfig = CommandBudgetConfig()
    error_channel: int | None = Field(default=None, gt=0)  # where problem summaries go
    proxy: str | None = None  # overrides the top-level `proxy:`; `direct`: none

    _check_proxy = field_validator("proxy")(proxies.check_setting)

    @property
    def enabled(self) -> bool:
        return bool(self.token.get_secret_value().strip())

    @property
    def report_chat(self) -> str | None:
        """The configured error channel, if any."""
        return str(self.error_channel) if self.error_channel is not None else None

    def secrets(self) -> list[str]:
        """The bot token, when set, and the proxy's password."""
        value = self.token.get_secret_value()
        return [*([value] if value else []), *proxies.setting_secrets(self.proxy)]
