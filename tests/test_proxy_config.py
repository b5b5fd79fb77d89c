"""The proxy rule (bot.net.proxy) and its config: which proxy a target goes through, bad URLs as
config errors naming the key or the variable, and passwords kept out of every log line."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from cli_helpers import run_cli
from telegram_helpers import debug_log

from bot.config import ConfigError, parse_settings
from bot.logs import setup_logging
from bot.net.proxy import bypassed, parse_proxy, resolve
from bot.platforms import registry

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "pr0xy-Pa55word"
TG = "https://api.telegram.org/bot"


def addresses(setting: str | None, target: str, **environ: str) -> str | None:
    chosen = resolve(setting, target, environ)
    return None if chosen is None else chosen.address


def test_urls_parse_with_credentials_and_default_ports() -> None:
    proxy = parse_proxy("socks5h://user%40x:p%3Ass@proxy.lan")
    assert (proxy.scheme, proxy.host, proxy.port, proxy.username, proxy.password) == (
        "socks5h",
        "proxy.lan",
        1080,
        "user@x",
        "p:ss",
    )
    assert proxy.socks and proxy.remote_dns and proxy.url == "socks5h://user%40x:p%3Ass@proxy.lan:1080"
    assert proxy.shown == "socks5h://user%40x:***@proxy.lan:1080"
    assert parse_proxy("http://[::1]:3128").address == "http://[::1]:3128"
    assert parse_proxy("HTTPS://proxy.lan").port == 443


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("ftp://proxy:21", "must start with one of http://, https://, socks5://, socks5h://"),
        ("proxy.lan:3128", "must start with one of"),
        ("http://:3128", "has no host"),
        ("http://proxy:99999", "not a valid URL"),
        ("http://proxy:3128/path", "without a path"),
        ("http://u:p@" + "x" * 3000, "at most 2048 characters"),
        ("socks5://u:p%C3%A4ss@proxy:1080", "must be ASCII, at most 255 characters"),
        ("socks5h://" + "u" * 256 + ":p@proxy:1080", "must be ASCII, at most 255 characters"),
    ],
)
def test_bad_urls_are_refused_with_the_reason(value: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_proxy(value)


def test_the_config_wins_then_the_variables_by_target_scheme() -> None:
    env = {"HTTPS_PROXY": "http://upper:1", "https_proxy": "http://lower:1", "ALL_PROXY": "socks5://all:1"}
    assert addresses(None, TG, **env) == "http://lower:1"  # lower case first, as curl
    assert addresses(None, "http://feeds.example/rss", **env) == "socks5://all:1"  # no http_proxy: ALL
    assert addresses(None, "wss://gateway.discord.gg/", HTTPS_PROXY="http://upper:1") == "http://upper:1"
    assert addresses(None, "ws://127.0.0.1:9/gateway", http_proxy="http://plain:1") == "http://plain:1"
    assert addresses("socks5://cfg:1", TG, **env) == "socks5://cfg:1"
    assert addresses("direct", TG, **env) is None
    assert addresses(None, TG) is None


def test_an_empty_setting_leaves_the_choice_to_the_environment() -> None:
    settings = parse_settings({"proxy": "", "telegram": {"proxy": " "}}, "config.yaml", ROOT)
    assert settings.proxy is None
    assert settings.platform_config(registry.get("telegram")).proxy is None  # type: ignore[attr-defined]
    assert parse_settings({"proxy": " Direct "}, "config.yaml", ROOT).proxy == "direct"


@pytest.mark.parametrize(
    ("no_proxy", "target", "expected"),
    [
        ("*", TG, True),
        ("telegram.org", TG, True),
        (".telegram.org", TG, True),
        ("org.telegram.org", TG, False),
        ("api.telegram.org:443", TG, True),
        ("api.telegram.org:8443", TG, False),
        (" localhost , 127.0.0.1:8081", "http://127.0.0.1:8081/bot", True),
        ("127.0.0.1:8081", "http://127.0.0.1:8082/bot", False),
        ("[::1]:80", "http://[::1]/feed", True),
        ("", TG, False),
    ],
)
def test_no_proxy_entries(no_proxy: str, target: str, expected: bool) -> None:
    assert bypassed(target, {"NO_PROXY": no_proxy}) is expected
    assert (addresses("http://cfg:1", target, NO_PROXY=no_proxy) is None) is expected


def test_bad_proxy_settings_are_config_errors_naming_the_key_without_the_password() -> None:
    bad = f"htp://bot:{PASSWORD}@proxy:1"
    data = {
        "proxy": bad,
        "telegram": {"proxy": "http://proxy:1/x"},
        "discord": {"proxy": "socks4://proxy:1"},
        "sources": [{"name": "site", "type": "feed", "url": "https://example.org/f", "proxy": "proxy"}],
    }
    with pytest.raises(ConfigError) as raised:
        parse_settings(data, "config.yaml", ROOT)
    keys = sorted(problem.split(":", 1)[0] for problem in raised.value.problems)
    assert keys == ["discord.proxy", "proxy", "sources.0.proxy", "telegram.proxy"]
    assert PASSWORD not in str(raised.value)


def test_a_bad_proxy_variable_is_a_config_error_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALL_PROXY", f"bot:{PASSWORD}@proxy:1080")
    with pytest.raises(ConfigError) as raised:
        parse_settings({}, "config.yaml", ROOT)
    [problem] = raised.value.problems
    assert problem.startswith("ALL_PROXY (environment): the proxy URL must start with one of")
    assert PASSWORD not in problem


def test_every_proxy_password_is_a_secret_and_never_logged(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://env:env-Pa55@proxy:3128")
    data = {
        "proxy": f"socks5://bot:{PASSWORD}@proxy:1080",
        "telegram": {"proxy": "http://tg:tg%2FPa55@proxy:3128"},
        "discord": {"proxy": "http://dc:dc-Pa55@proxy:3128"},
        "sources": [
            {"name": "s", "type": "feed", "url": "https://e.org/f", "proxy": "http://f:feed-Pa55@p:1"}
        ],
    }
    secrets = parse_settings(data, "config.yaml", ROOT).secrets()
    assert {PASSWORD, "tg/Pa55", "tg%2FPa55", "dc-Pa55", "feed-Pa55", "env-Pa55"} <= set(secrets)
    with debug_log() as stream:
        setup_logging("DEBUG", secrets, stream)
        log = logging.getLogger("test.proxy")
        log.error("cannot connect: %s and tg/Pa55", f"socks5://bot:{PASSWORD}@proxy:1080")
        log.error("a library printed http://someone:unknown-Pa55@host:1/ as it was")
    text = stream.getvalue()
    assert PASSWORD not in text and "tg/Pa55" not in text and "unknown-Pa55" not in text
    assert "socks5://bot:[REDACTED]@proxy:1080" in text and "http://someone:[REDACTED]@host:1/" in text


def test_check_config_reports_a_bad_proxy_in_one_line(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(f"proxy: socks5://bot:{PASSWORD}@proxy:port\n", encoding="utf-8")
    result = run_cli("check-config", "--config", str(config))
    assert result.returncode == 2
    assert "proxy: not a valid URL (check the host and the port)" in result.stderr
    assert "Traceback" not in result.stderr and PASSWORD not in result.stderr + result.stdout
