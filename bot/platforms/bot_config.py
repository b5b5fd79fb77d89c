"""The settings every chat platform reached with a bot token shares, declared once.

A platform's own config model adds its hosts, limits and rendering choices to these.
"""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator

from bot.commands.config import CommandBudgetConfig
from bot.core.strict import Strict
from bot.net import proxy as proxies


class BotPlatformConfig(Strict):
    """Token (empty: the platform is off), the bot's owners, the command budget and the proxy."""

    token: SecretStr = SecretStr("")
    admins: list[int] = Field(default=[])
    command_budget: CommandBudgetConfig = CommandBudgetConfig()
    proxy: str | None = None  # overrides the top-level `proxy:`; `direct`: none

    _check_proxy = field_validator("proxy")(proxies.check_setting)

    @property
    def enabled(self) -> bool:
        return bool(self.token.get_secret_value().strip())

    def secrets(self) -> list[str]:
        """The bot token, when set, and the proxy's password."""
        value = self.token.get_secret_value()
        return [*([value] if value else []), *proxies.setting_secrets(self.proxy)]
