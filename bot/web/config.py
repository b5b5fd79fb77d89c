"""The `http:` section: where the optional HTTP server listens and the token that guards it."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator

from bot.core.strict import Strict

MIN_TOKEN = 16  # characters: a short token could be guessed by anyone who can reach the port


class HttpConfig(Strict):
    """Absent = no server. Without a token the dashboard is refused and /metrics is open (loopback)."""

    listen: str = Field(default="127.0.0.1", min_length=1)
    port: int = Field(default=8080, ge=0, le=65535)  # 0: any free port (tests)
    token: SecretStr = SecretStr("")

    @field_validator("token")
    @classmethod
    def _check_token(cls, value: SecretStr) -> SecretStr:
        secret = value.get_secret_value()
        if secret and len(secret) < MIN_TOKEN:
            raise ValueError(f"the token must be at least {MIN_TOKEN} characters (or empty: no dashboard)")
        if any(c.isspace() or not c.isprintable() for c in secret):
            raise ValueError("the token must not contain spaces or control characters")
        return value

    def secrets(self) -> list[str]:
        secret = self.token.get_secret_value()
        return [secret] if secret else []
