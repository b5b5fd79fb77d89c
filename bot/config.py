"""One typed, validated settings object, loaded from YAML with `${VAR}` read from the environment.

Every problem is reported with its key path (``sources.0.poll_interval: ...``) so a user can fix the
file without reading a traceback; unknown keys are errors because a typo must not silently do nothing.
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from bot.commands.config import CommandBudgetConfig
from bot.core.model import Category, Vocabulary
from bot.core.schedule import parse_schedule, parse_timezone
from bot.core.strict import Strict
from bot.core.textmatch import compile_terms
from bot.delivery.config import DeliveryConfig, RateLimits, RetentionConfig

DEFAULT_TELEGRAM_BASE_URL = "https://api.telegram.org/bot"
DEFAULT_DISCORD_API_BASE = "https://discord.com/api/v10"
DEFAULT_DISCORD_GATEWAY = "wss://gateway.discord.gg/"
GENERATED_SECRET_BYTES = 32  # 43 characters
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class ConfigError(Exception):
    """A config file that cannot be used; `problems` lists one ``key.path: reason`` line each."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: " + "; ".join(problems))


class KeyPathError(ValueError):
    """A problem a model validator finds in a key below it: reported with that key's own path."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        super().__init__(message)


def _check_zone(value: str | None) -> str | None:
    return None if value is None else parse_timezone(value).key


def _check_schedule(value: str) -> str:
    return str(parse_schedule(value))


class CategoryConfig(Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=40)
    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)
    aliases: list[str] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)
    color: int | None = Field(default=None, ge=0, le=0xFFFFFF)

    def to_category(self) -> Category:
        return Category(
            id=self.id,
            name_zh=self.zh,
            name_en=self.en,
            aliases=tuple(self.aliases),
            keywords=tuple(self.keywords),
            color=self.color,
        )


class DirectorySource(Strict):
    name: str = Field(min_length=1)
    same_as: str | None = None
    type: Literal["directory"]
    path: Path
    poll_interval: float = Field(default=5.0, gt=0)
    pattern: str = "*.md"


class FeedSource(Strict):
    name: str = Field(min_length=1)
    same_as: str | None = None
    type: Literal["feed"]
    url: str = Field(pattern=r"^https?://")
    poll_interval: float = Field(default=600.0, gt=0)
    timeout: float = Field(default=20.0, gt=0)


Source = Annotated[DirectorySource | FeedSource, Field(discriminator="type")]


class TelegramWebhook(Strict):
    """Webhook mode instead of long polling: Telegram posts updates to `url`, we listen locally."""

    url: str = Field(pattern=r"^https://")
    listen: str = "0.0.0.0"
    port: int = Field(default=8443, ge=1, le=65535)
    path: str = ""
    secret_token: SecretStr = Field(default=None, validate_default=True)  # type: ignore[assignment]

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


class TelegramConfig(Strict):
    token: SecretStr = SecretStr("")
    webhook: TelegramWebhook | None = None
    base_url: str = DEFAULT_TELEGRAM_BASE_URL
    base_file_url: str | None = None
    admins: list[int] = Field(default_factory=list)
    link_previews: bool = False
    rate_limits: RateLimits = RateLimits(global_per_second=30, per_chat_per_second=1, per_group_per_minute=20)
    command_budget: CommandBudgetConfig = CommandBudgetConfig()

    def render_preferences(self) -> dict[str, bool]:
        """Operator-wide rendering choices applied to every Telegram reader."""
        return {"link_previews": self.link_previews}

    @property
    def enabled(self) -> bool:
        return bool(self.token.get_secret_value().strip())


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

    def render_preferences(self) -> dict[str, bool]:
        """Operator-wide rendering choices applied to every Discord reader."""
        return {"discord_embeds": self.embeds, "link_previews": self.link_previews}

    @property
    def enabled(self) -> bool:
        return bool(self.token.get_secret_value().strip())


class Broadcast(Strict):
    """A chat or channel the operator subscribes from config; synced into the subscriptions table."""

    platform: Literal["telegram", "discord", "console"]
    chat: str = Field(min_length=1)
    thread: str | None = None
    categories: list[str] = Field(default_factory=list)
    include: list[str] = Field(default_factory=list)
    exclude: list[str] = Field(default_factory=list)
    schedule: str = "instant"
    timezone: str | None = None
    language: Literal["zh", "en"] | None = None

    _check_timezone = field_validator("timezone")(_check_zone)
    _check_schedule = field_validator("schedule")(_check_schedule)

    @field_validator("include", "exclude")
    @classmethod
    def _check_keywords(cls, terms: list[str]) -> list[str]:
        compile_terms(tuple(terms))
        return terms


class Settings(Strict):
    database: Path = Path("digestbot.db")
    timezone: str = "UTC"
    language: Literal["zh", "en"] = "zh"
    max_digest_bytes: int = Field(default=524_288, gt=0)
    max_feed_bytes: int = Field(default=10_485_760, gt=0)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    sources: list[Source] = Field(default_factory=list)
    categories: list[CategoryConfig] = Field(default_factory=list)
    broadcasts: list[Broadcast] = Field(default_factory=list)
    telegram: TelegramConfig = TelegramConfig()
    discord: DiscordConfig = DiscordConfig()
    delivery: DeliveryConfig = DeliveryConfig()
    retention: RetentionConfig = RetentionConfig()

    _check_timezone = field_validator("timezone")(_check_zone)

    @model_validator(mode="after")
    def _unique_names(self) -> Settings:
        names = [s.name for s in self.sources]
        duplicate = {n for n in names if names.count(n) > 1}
        if duplicate:
            raise ValueError(f"duplicate source names: {', '.join(sorted(duplicate))}")
        self.source_scopes()
        Vocabulary(c.to_category() for c in self.categories)
        return self

    def source_scopes(self) -> dict[str, str]:
        """Each source's scope: the end of its `same_as` chain (a -> b -> c: c), else its own name.
        Digests of one scope with equal ids are one digest. Raises KeyPathError for a `same_as`
        naming no other source or closing a cycle; each source is walked once (memoised)."""
        index = {s.name: i for i, s in enumerate(self.sources)}
        scopes: dict[str, str] = {}
        for source in self.sources:
            chain: list[str] = []
            on_chain: set[str] = set()
            name = source.name
            while name not in scopes:
                target = self.sources[index[name]].same_as
                if target is None:
                    scopes[name] = name
                    break
                where = f"sources.{index[name]}.same_as"
                if target not in index:
                    raise KeyPathError(where, f"no source is named {target!r}")
                if target == name:
                    raise KeyPathError(where, "a source cannot be the same as itself")
                chain.append(name)
                on_chain.add(name)
                if target in on_chain:
                    cycle = [*chain[chain.index(target) :], target]
                    raise KeyPathError(where, f"same_as goes round in a cycle: {' -> '.join(cycle)}")
                name = target
            scopes.update((member, scopes[name]) for member in chain)
        return scopes

    def vocabulary(self) -> Vocabulary:
        """The configured categories, with the catch-all 'other' added when the config lacks it."""
        categories = [c.to_category() for c in self.categories]
        if not any(c.id == "other" for c in categories):
            categories.append(Category(id="other", name_zh="其他", name_en="Other", aliases=("misc",)))
        return Vocabulary(categories)

    def secrets(self) -> list[str]:
        """Every configured secret, so logging can redact them wherever they appear."""
        values = [self.telegram.token.get_secret_value(), self.discord.token.get_secret_value()]
        if self.telegram.webhook is not None:
            values.append(self.telegram.webhook.secret_token.get_secret_value())
        return [v for v in values if v]


def _interpolate(value: Any, path: str, problems: list[str]) -> Any:
    """Replace ``${VAR}`` / ``${VAR:-default}`` in every string with the environment's value."""
    if isinstance(value, dict):
        return {k: _interpolate(v, f"{path}.{k}" if path else str(k), problems) for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolate(v, f"{path}.{i}", problems) for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in os.environ:
            return os.environ[name]
        if default is not None:
            return default
        problems.append(f"{path}: environment variable {name} is not set")
        return ""

    return _ENV_REF.sub(substitute, value)


def _format_error(error: dict[str, Any]) -> str:
    location = ".".join(str(part) for part in error["loc"] if part not in ("directory", "feed"))
    message = error["msg"]
    if error["type"] == "extra_forbidden":
        message = "unknown key"
    cause = error.get("ctx", {}).get("error")
    if isinstance(cause, KeyPathError):
        location, message = cause.path, str(cause)
    return f"{location or '(top level)'}: {message}"


def parse_settings(data: Any, source: str, base_dir: Path) -> Settings:
    """Validate already-loaded YAML data; relative paths are taken relative to the config file."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(source, ["(top level): expected a mapping of keys"])
    problems: list[str] = []
    data = _interpolate(data, "", problems)
    if problems:
        raise ConfigError(source, problems)
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(source, [_format_error(e) for e in exc.errors()]) from None
    return _resolve_paths(settings, base_dir)


def _resolve_paths(settings: Settings, base_dir: Path) -> Settings:
    def resolve(path: Path) -> Path:
        return path if path.is_absolute() or str(path) == ":memory:" else base_dir / path

    sources = [
        s.model_copy(update={"path": resolve(s.path)}) if isinstance(s, DirectorySource) else s
        for s in settings.sources
    ]
    return settings.model_copy(update={"database": resolve(settings.database), "sources": sources})


def load_settings(path: Path, base_dir: Path | None = None) -> Settings:
    """Read and validate a YAML config file; every problem comes back in one ConfigError.

    Relative paths in it are relative to the file's folder (not following symlinks), or `base_dir`.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(str(path), ["file not found"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), [f"cannot read: {exc}"]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(str(path), [f"{where}invalid YAML: {problem}"]) from None
    return parse_settings(data, str(path), base_dir or path.absolute().parent)


def packaged_defaults(base_dir: Path) -> Settings:
    """The bundled example config (shipped inside the package), with paths relative to `base_dir`."""
    return load_settings(Path(__file__).with_name("config.example.yaml"), base_dir)
