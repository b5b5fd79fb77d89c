"""Config loading: typed validation with key paths, ${ENV} interpolation, relative paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings, parse_settings
from bot.core.model import Filter


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_example_config_is_valid() -> None:
    settings = load_settings(Path("config.example.yaml"))
    vocabulary = settings.vocabulary()
    assert "other" in vocabulary
    assert vocabulary.resolve("机器人") is not None
    assert not settings.telegram.enabled or settings.telegram.token.get_secret_value()


def test_env_interpolation_and_secret_hidden(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TG_TOKEN", "123456:secret-token-value")
    settings = load_settings(write(tmp_path, "telegram:\n  token: ${TG_TOKEN}\n"))
    assert settings.telegram.enabled
    assert "secret-token-value" not in repr(settings)
    assert settings.secrets() == ["123456:secret-token-value"]


def test_env_default_and_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOPE", raising=False)
    settings = load_settings(write(tmp_path, "discord:\n  token: ${NOPE:-}\n"))
    assert not settings.discord.enabled
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, "discord:\n  token: ${NOPE}\n"))
    assert info.value.problems == ["discord.token: environment variable NOPE is not set"]


def test_every_problem_reported_with_key_path(tmp_path: Path) -> None:
    text = (
        "timezone: Mars/Olympus\n"
        "databse: x.db\n"
        "sources:\n"
        "  - {name: a, type: directory, path: posts, poll_interval: -1}\n"
        "  - {name: b, type: carrier-pigeon}\n"
    )
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, text))
    problems = info.value.problems
    assert any(p.startswith("timezone: ") and "Mars/Olympus" in p for p in problems)
    assert "databse: unknown key" in problems
    assert any(p.startswith("sources.0.poll_interval: ") for p in problems)
    assert any(p.startswith("sources.1") for p in problems)


def test_invalid_yaml_names_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, "database: a.db\nsources: [\n  - x: : y\n"))
    assert "line " in info.value.problems[0]


def test_missing_file_and_non_mapping(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_settings(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_settings(write(tmp_path, "- just\n- a list\n"))


def test_relative_paths_follow_config_folder(tmp_path: Path) -> None:
    settings = load_settings(
        write(tmp_path, "database: data/bot.db\nsources:\n  - {name: a, type: directory, path: posts}\n")
    )
    assert settings.database == tmp_path / "data" / "bot.db"
    assert settings.sources[0].path == tmp_path / "posts"  # type: ignore[union-attr]
    assert settings.sources[0].poll_interval == 5.0


def test_fractional_poll_interval_and_duplicate_names() -> None:
    data = {"sources": [{"name": "a", "type": "directory", "path": "p", "poll_interval": 0.25}]}
    assert parse_settings(data, "c", Path("/")).sources[0].poll_interval == 0.25
    data["sources"].append({"name": "a", "type": "feed", "url": "https://example.com/feed"})
    with pytest.raises(ConfigError, match="duplicate source names: a"):
        parse_settings(data, "c", Path("/"))


def test_duplicate_category_id_rejected() -> None:
    categories = [{"id": "x", "zh": "甲", "en": "X"}, {"id": "x", "zh": "乙", "en": "Y"}]
    with pytest.raises(ConfigError, match="duplicate category id"):
        parse_settings({"categories": categories}, "c", Path("/"))


def test_broadcast_schedule_and_timezone_validated() -> None:
    good = {
        "platform": "telegram",
        "chat": "@news",
        "schedule": "at 8:00, 20:30",
        "timezone": "asia/shanghai",
    }
    broadcast = parse_settings({"broadcasts": [good]}, "c", Path("/")).broadcasts[0]
    assert (broadcast.schedule, broadcast.timezone) == ("at 08:00,20:30", "Asia/Shanghai")
    bad = {"platform": "discord", "chat": "1", "schedule": "at 25:00", "timezone": "Nowhere/Land"}
    with pytest.raises(ConfigError) as info:
        parse_settings({"broadcasts": [bad]}, "c", Path("/"))
    assert any(p.startswith("broadcasts.0.schedule: ") and "25:00" in p for p in info.value.problems)
    assert any(p.startswith("broadcasts.0.timezone: ") for p in info.value.problems)


def test_a_missing_webhook_secret_is_generated_for_each_start_and_redacted(tmp_path: Path) -> None:
    text = "telegram:\n  token: '1:x'\n  webhook:\n    url: https://bot.example.test/hook\n"
    first, second = load_settings(write(tmp_path, text)), load_settings(write(tmp_path, text))
    assert first.telegram.webhook is not None and second.telegram.webhook is not None
    secret = first.telegram.webhook.secret_token.get_secret_value()
    assert len(secret) >= 32 and secret != second.telegram.webhook.secret_token.get_secret_value()
    assert secret in first.secrets()
    empty = load_settings(write(tmp_path, text + "    secret_token: ''\n"))
    assert empty.telegram.webhook is not None and empty.telegram.webhook.secret_token.get_secret_value()
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, text + "    secret_token: 'not allowed!'\n"))
    assert info.value.problems[0].startswith("telegram.webhook.secret_token: ")


def test_command_budget_is_per_platform_and_bounded(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, "discord:\n  command_budget: {burst: 2, refill_seconds: 0.5}\n"))
    assert (settings.discord.command_budget.burst, settings.discord.command_budget.refill_seconds) == (2, 0.5)
    assert (settings.telegram.command_budget.burst, settings.telegram.command_budget.refill_seconds) == (5, 3)
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, "telegram:\n  command_budget: {burst: 0, per: 3}\n"))
    assert any(p.startswith("telegram.command_budget.burst: ") for p in info.value.problems)
    assert "telegram.command_budget.per: unknown key" in info.value.problems


def test_retention_defaults_fractions_and_bad_values() -> None:
    defaults = parse_settings({}, "test", Path(".")).retention
    assert (defaults.deliveries_days, defaults.payloads_days, defaults.digest_versions) == (30, 7, 3)
    half = parse_settings({"retention": {"payloads_days": 0.5}}, "test", Path(".")).retention
    assert half.payloads_days == 0.5
    bad = {"deliveries_days": 0, "payloads_days": 1e9, "digest_versions": 0, "versions": 2}
    with pytest.raises(ConfigError) as info:
        parse_settings({"retention": bad}, "test", Path("."))
    problems = info.value.problems
    assert "retention.versions: unknown key" in problems
    assert "retention.deliveries_days: Input should be greater than 0" in problems
    assert any(p.startswith("retention.payloads_days: ") for p in problems)
    assert any(p.startswith("retention.digest_versions: ") for p in problems)


def test_delivery_age_and_rate_limit_ceilings_are_seconds_and_bounded() -> None:
    defaults = parse_settings({}, "test", Path(".")).delivery
    assert (defaults.max_age, defaults.max_retry_wait) == (86_400, 3_600)
    with pytest.raises(ConfigError) as info:
        parse_settings({"delivery": {"max_age": 0, "max_retry_wait": 10**9}}, "test", Path("."))
    problems = info.value.problems
    assert "delivery.max_age: Input should be greater than 0" in problems
    assert any(p.startswith("delivery.max_retry_wait: Input should be less than or equal") for p in problems)


def test_delivery_lease_is_seconds_between_3_and_3600() -> None:
    assert parse_settings({}, "test", Path(".")).delivery.lease == 60
    assert parse_settings({"delivery": {"lease": 6}}, "test", Path(".")).delivery.lease == 6
    with pytest.raises(ConfigError) as info:
        parse_settings({"delivery": {"lease": 1}}, "test", Path("."))
    assert info.value.problems == ["delivery.lease: Input should be greater than or equal to 3"]


def test_max_feed_bytes_is_a_positive_size(tmp_path: Path) -> None:
    assert load_settings(write(tmp_path, "max_feed_bytes: 2048\n")).max_feed_bytes == 2048
    assert load_settings(write(tmp_path, "{}\n")).max_feed_bytes == 10 * 1024 * 1024
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, "max_feed_bytes: 0\n"))
    assert [p.split(":")[0] for p in info.value.problems] == ["max_feed_bytes"]


def test_broadcast_with_an_unknown_category_or_platform_is_a_config_error() -> None:
    unknown_category = {"platform": "telegram", "chat": "1", "categories": ["weather"]}
    with pytest.raises(ConfigError) as info:
        parse_settings(
            {"broadcasts": [{"platform": "telegram", "chat": "2"}, unknown_category]}, "c", Path("/")
        )
    assert info.value.problems == ["broadcasts.1.categories: unknown category 'weather'"]
    with pytest.raises(ConfigError) as info:
        parse_settings({"broadcasts": [{"platform": "slack", "chat": "1"}]}, "c", Path("/"))
    assert info.value.problems == [
        "broadcasts.0.platform: unknown platform 'slack': expected one of telegram, discord, console"
    ]


def test_our_validators_speak_without_pydantic_prefixes() -> None:
    with pytest.raises(ConfigError) as info:
        parse_settings(
            {"timezone": "Mars/Base", "sources": [{"name": "a", "type": "feed", "url": "x"}]}, "c", Path("/")
        )
    assert info.value.problems[0].startswith('timezone: unknown time zone "Mars/Base"')
    assert not any("Value error" in problem for problem in info.value.problems)


def test_broadcast_rows_resolve_categories_fill_defaults_and_guess_kinds() -> None:
    data = {
        "timezone": "Asia/Shanghai",
        "language": "en",
        "categories": [{"id": "tech", "zh": "技术", "en": "Tech", "aliases": ["科技"]}],
        "broadcasts": [
            {"platform": "telegram", "chat": "@news", "categories": ["科技"], "include": ["AI"]},
            {"platform": "telegram", "chat": "42", "timezone": "UTC", "language": "zh"},
            {"platform": "discord", "chat": "7", "thread": None, "schedule": "at 8:00"},
            {"platform": "console", "chat": "local"},
        ],
    }
    rows = parse_settings(data, "c", Path("/")).broadcast_rows()
    assert [(r.platform, r.chat_id, r.kind) for r in rows] == [
        ("telegram", "@news", "group"),
        ("telegram", "42", "private"),
        ("discord", "7", "guild_channel"),
        ("console", "local", "console"),
    ]
    assert rows[0].filter == Filter(frozenset({"tech"}), ("AI",), ())
    assert [(r.timezone, r.language) for r in rows[:2]] == [("Asia/Shanghai", "en"), ("UTC", "zh")]
    assert rows[2].schedule == "at 08:00"


def test_settings_have_one_section_per_registered_platform() -> None:
    settings = parse_settings({"discord": {"token": "d"}}, "c", Path("/"))
    assert [spec.name for spec in settings.enabled_platforms()] == ["discord"]
    assert [spec.name for spec in parse_settings({}, "c", Path("/")).enabled_platforms()] == ["console"]
    with pytest.raises(ConfigError) as info:
        parse_settings({"console": {}}, "c", Path("/"))
    assert info.value.problems == ["console: unknown key"]
