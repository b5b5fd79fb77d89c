"""One typed, validated settings object, loaded from YAML with `${VAR}` read from the environment.

Every problem is reported with its key path (``sources.0.poll_interval: ...``) so a user can fix the
file without reading a traceback; unknown keys are errors because a typo must not silently do nothing.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, cast

import yaml
from pydantic import Field, ValidationError, create_model, field_validator, model_validator
from pydantic_core import ErrorDetails

from bot.core.model import Category, Filter, Vocabulary
from bot.core.schedule import parse_schedule, parse_timezone
from bot.core.strict import Strict
from bot.core.textmatch import compile_terms
from bot.delivery.config import DeliveryConfig, RetentionConfig, RoundupConfig
from bot.net import proxy as proxies
from bot.net.pg_url import is_postgres_url, url_secrets
from bot.platforms import registry
from bot.platforms.spec import PlatformConfig, PlatformSpec
from bot.render import Renderer
from bot.web.config import HttpConfig

if TYPE_CHECKING:
    from bot.store.broadcasts import BroadcastRow

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
    aliases: list[str] = Field(default=[])
    keywords: list[str] = Field(default=[])
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
    proxy: str | None = None

    _check_proxy = field_validator("proxy")(proxies.check_setting)


Source = Annotated[DirectorySource | FeedSource, Field(discriminator="type")]


class Broadcast(Strict):
    """A chat or channel the operator subscribes from config; synced into the subscriptions table."""

    platform: str
    chat: str = Field(min_length=1)
    thread: str | None = None
    categories: list[str] = Field(default=[])
    include: list[str] = Field(default=[])
    exclude: list[str] = Field(default=[])
    schedule: str = "instant"
    timezone: str | None = None
    language: Literal["zh", "en"] | None = None

    _check_timezone = field_validator("timezone")(_check_zone)
    _check_schedule = field_validator("schedule")(_check_schedule)

    @field_validator("platform")
    @classmethod
    def _check_platform(cls, name: str) -> str:
        """Any registered platform; the list comes from the registry, so a new one needs no edit here."""
        if name not in registry.names():
            raise ValueError(f"unknown platform {name!r}: expected one of {', '.join(registry.names())}")
        return name

    @field_validator("include", "exclude")
    @classmethod
    def _check_keywords(cls, terms: list[str]) -> list[str]:
        compile_terms(tuple(terms))
        return terms


class SettingsBase(Strict):
    """The keys that are not a platform's; `Settings` adds one section per registered platform."""

    database: Path | str = Path("digestbot.db")  # a SQLite file, or a PostgreSQL URL (kept as text)
    database_connect_timeout: float = Field(default=30.0, gt=0)
    timezone: str = "UTC"
    language: Literal["zh", "en"] = "zh"
    max_digest_bytes: int = Field(default=524_288, gt=0)
    max_feed_bytes: int = Field(default=10_485_760, gt=0)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = "text"
    sources: list[Source] = Field(default=[])
    categories: list[CategoryConfig] = Field(default=[])
    broadcasts: list[Broadcast] = Field(default=[])
    delivery: DeliveryConfig = DeliveryConfig()
    retention: RetentionConfig = RetentionConfig()
    roundup: RoundupConfig = RoundupConfig()
    http: HttpConfig | None = None
    proxy: str | None = None

    _check_timezone = field_validator("timezone")(_check_zone)
    _check_proxy = field_validator("proxy")(proxies.check_setting)

    @field_validator("database")
    @classmethod
    def _check_database(cls, value: Path | str) -> Path | str:
        """A PostgreSQL URL stays text (never resolved as a path); anything else is a file path."""
        if isinstance(value, Path) or is_postgres_url(value):
            return value
        scheme, found, _ = value.partition("://")
        if found:  # the rest may hold a password: only the scheme is shown
            raise ValueError(f"a {scheme}:// URL: expected a SQLite file path or a postgresql:// URL")
        return Path(value)

    @model_validator(mode="after")
    def _unique_names(self) -> SettingsBase:
        names = [s.name for s in self.sources]
        duplicate = {n for n in names if names.count(n) > 1}
        if duplicate:
            raise ValueError(f"duplicate source names: {', '.join(sorted(duplicate))}")
        self.source_scopes()
        Vocabulary(c.to_category() for c in self.categories)
        list(self._broadcast_filters())
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

    def platform_config(self, spec: PlatformSpec) -> PlatformConfig:
        """The platform's section of the file, or its defaults when it has none (the console)."""
        if spec.config_key is None:
            return cast(PlatformConfig, spec.config_model())
        config: PlatformConfig = getattr(self, spec.config_key)
        return config

    def enabled_platforms(self) -> list[PlatformSpec]:
        """Every platform configured to run; the fallback ones (the console) when there is none."""
        enabled = [spec for spec in registry.PLATFORMS if self.platform_config(spec).enabled]
        return enabled or [spec for spec in registry.PLATFORMS if spec.fallback]

    def renderers(self) -> dict[str, Renderer]:
        """Each platform's renderer with the operator's choices bound, keyed by platform name."""
        return {spec.name: spec.make_renderer(self.platform_config(spec)) for spec in registry.PLATFORMS}

    def secrets(self) -> list[str]:
        """Every configured secret, so logging can redact them wherever they appear."""
        platforms = [value for spec in registry.PLATFORMS for value in self.platform_config(spec).secrets()]
        feeds = [s.proxy for s in self.sources if isinstance(s, FeedSource)]
        passwords = [p for setting in (self.proxy, *feeds) for p in proxies.setting_secrets(setting)]
        server = self.http.secrets() if self.http is not None else []
        database = url_secrets(self.database) if isinstance(self.database, str) else []
        return [*platforms, *server, *passwords, *database, *proxies.env_secrets()]

    def broadcast_rows(self) -> list[BroadcastRow]:
        """The broadcasts as the store takes them: categories resolved, defaults filled in, kinds guessed."""
        from bot.store.broadcasts import BroadcastRow

        return [
            BroadcastRow(
                platform=broadcast.platform,
                chat_id=broadcast.chat,
                thread_id=broadcast.thread,
                kind=registry.get(broadcast.platform).broadcast_kind(broadcast.chat),
                filter=filter,
                schedule=broadcast.schedule,
                timezone=broadcast.timezone or self.timezone,
                language=broadcast.language or self.language,
            )
            for broadcast, filter in zip(self.broadcasts, self._broadcast_filters(), strict=True)
        ]

    def _broadcast_filters(self) -> Iterator[Filter]:
        """Each broadcast's filter; an unknown category is a KeyPathError at its `broadcasts.N` key."""
        vocabulary = self.vocabulary()
        for index, broadcast in enumerate(self.broadcasts):
            categories: set[str] = set()
            for name in broadcast.categories:
                category = vocabulary.resolve(name)
                if category is None:
                    where = f"broadcasts.{index}.categories"
                    raise KeyPathError(where, f"unknown category {name!r}")
                categories.add(category.id)
            yield Filter(frozenset(categories), tuple(broadcast.include), tuple(broadcast.exclude))


def _platform_sections() -> dict[str, Any]:
    """One optional section per registered platform that has one, defaulting to its disabled config."""
    return {
        spec.config_key: (spec.config_model, spec.config_model())
        for spec in registry.PLATFORMS
        if spec.config_key is not None
    }


# The platform sections exist only at run time (the registry decides them); code reaches them through
# `platform_config(spec)`, so type checkers see the static base.
if TYPE_CHECKING:
    Settings = SettingsBase
else:
    Settings = create_model("Settings", __base__=SettingsBase, __module__=__name__, **_platform_sections())


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


def _format_error(error: ErrorDetails) -> str:
    location = ".".join(str(part) for part in error["loc"] if part not in ("directory", "feed"))
    message = error["msg"]
    if error["type"] == "extra_forbidden":
        message = "unknown key"
    cause = error.get("ctx", {}).get("error")
    if isinstance(cause, KeyPathError):
        location, message = cause.path, str(cause)
    elif isinstance(cause, ValueError):
        message = str(cause)  # our own validators' words, without pydantic's "Value error, " prefix
    return f"{location or '(top level)'}: {message}"


def parse_settings(data: Any, source: str, base_dir: Path) -> Settings:
    """Validate already-loaded YAML data; relative paths are taken relative to the config file."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(source, ["(top level): expected a mapping of keys"])
    problems: list[str] = proxies.env_problems()
    data = _interpolate(data, "", problems)
    unset = [problem.split(": ", 1)[0] for problem in problems]
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        # Every problem at once; a key whose variable is unset is reported once, as unset.
        problems += [p for p in map(_format_error, exc.errors()) if not _below_any(p, unset)]
    if problems:
        raise ConfigError(source, problems)
    return _resolve_paths(settings, base_dir)


def _below_any(problem: str, keys: list[str]) -> bool:
    where = problem.split(": ", 1)[0]
    return any(where == key or where.startswith(f"{key}.") for key in keys)


def literal_secrets(data: Any, secrets: list[str], path: str = "") -> list[str]:
    """Key paths of the raw (not interpolated) config whose value is a secret written in the file
    itself rather than read from the environment with ``${VAR}``; never the values."""
    if isinstance(data, dict):
        return [
            key
            for k, v in data.items()
            for key in literal_secrets(v, secrets, f"{path}.{k}" if path else str(k))
        ]
    if isinstance(data, list):
        return [key for i, v in enumerate(data) for key in literal_secrets(v, secrets, f"{path}.{i}")]
    literal = isinstance(data, str) and data and "${" not in data and data in secrets
    return [path] if literal else []


def _resolve_paths(settings: Settings, base_dir: Path) -> Settings:
    def resolve(path: Path) -> Path:
        return path if path.is_absolute() or str(path) == ":memory:" else base_dir / path

    sources = [
        s.model_copy(update={"path": resolve(s.path)}) if isinstance(s, DirectorySource) else s
        for s in settings.sources
    ]
    database = settings.database if isinstance(settings.database, str) else resolve(settings.database)
    return settings.model_copy(update={"database": database, "sources": sources})


def load_settings(path: Path, base_dir: Path | None = None) -> Settings:
    """Read and validate a YAML config file; every problem comes back in one ConfigError.

    Relative paths in it are relative to the file's folder (not following symlinks), or `base_dir`.
    """
    return load_checked(path, base_dir)[0]


def load_checked(path: Path, base_dir: Path | None = None) -> tuple[Settings, list[str]]:
    """`load_settings`, plus one warning per secret written literally in the file (key path only)."""
    data = read_yaml(path)
    settings = parse_settings(data, str(path), base_dir or path.absolute().parent)
    warnings = [
        f"{key}: a secret is written in the file itself; read it from the environment with ${{VAR}}"
        for key in literal_secrets(data, settings.secrets())
    ]
    return settings, warnings


# libyaml's parser when PyYAML has it: the example config takes 8 ms to read instead of 65 ms.
SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(path: Path) -> Any:
    """The file's YAML data; a missing, unreadable or malformed file is a ConfigError."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(str(path), ["file not found"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), [f"cannot read: {exc}"]) from None
    try:
        data = yaml.load(text, Loader=SAFE_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(str(path), [f"{where}invalid YAML: {problem}"]) from None
    return data


def packaged_defaults(base_dir: Path) -> Settings:
    """The bundled example config (shipped inside the package), with paths relative to `base_dir`."""
    return load_settings(Path(__file__).with_name("config.example.yaml"), base_dir)
