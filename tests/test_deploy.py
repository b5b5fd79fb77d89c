"""The deployment files agree with the program: the container's config, health check, volume, unit.

Docker itself is not needed: these read the files the image and the unit are built from.
"""

from __future__ import annotations

import configparser
import re

import pytest
import yaml
from app_helpers import ROOT

from bot.config import parse_settings

EXAMPLE = ROOT / "bot" / "config.example.yaml"
OVERLAY = ROOT / "deploy" / "config.docker.yaml"


def test_the_containers_config_is_the_example_plus_the_http_server(monkeypatch: pytest.MonkeyPatch) -> None:
    example = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    overlay = yaml.safe_load(OVERLAY.read_text(encoding="utf-8"))
    assert not set(example) & set(overlay)  # appended keys would silently replace the example's
    combined = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8") + OVERLAY.read_text(encoding="utf-8"))
    assert combined["http"] == {"listen": "0.0.0.0", "port": 8080, "token": "${DIGESTBOT_HTTP_TOKEN:-}"}
    monkeypatch.setenv("DIGESTBOT_DATABASE", "/data/digestbot.db")
    monkeypatch.setenv("DIGESTBOT_DIGESTS", "/data/digests")
    settings = parse_settings(combined, "docker", ROOT / "somewhere")
    assert str(settings.database) == "/data/digestbot.db"
    assert [str(s.path) for s in settings.sources if hasattr(s, "path")] == ["/data/digests"]
    assert settings.http is not None and (settings.http.listen, settings.http.port) == ("0.0.0.0", 8080)


def test_dockerfile_health_check_volume_and_user() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert dockerfile.startswith("# ") and "FROM python:3.11-slim" in dockerfile
    assert re.search(r"HEALTHCHECK .*\n.*http://127\.0\.0\.1:8080/healthz", dockerfile)
    assert "VOLUME /data" in dockerfile and "USER digestbot" in dockerfile
    for variable in ("DIGESTBOT_CONFIG", "DIGESTBOT_DATABASE=/data/", "DIGESTBOT_DIGESTS=/data/"):
        assert variable in dockerfile


def test_compose_runs_the_bot_on_the_data_volume_with_a_postgres_profile() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    bot = compose["services"]["digestbot"]
    assert bot["volumes"] == ["digestbot-data:/data"] and bot["build"] == "."
    assert set(bot["environment"]) >= {"TELEGRAM_TOKEN", "DISCORD_TOKEN"}
    assert all(str(value).startswith("${") for value in bot["environment"].values())  # never a literal
    assert compose["services"]["postgres"]["profiles"] == ["postgres"]


def test_systemd_unit_runs_the_bot_with_tokens_from_an_environment_file() -> None:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read_string((ROOT / "deploy" / "digestbot.service").read_text(encoding="utf-8"))
    service = unit["Service"]
    assert service["ExecStart"].endswith("digestbot run") and service["KillSignal"] == "SIGTERM"
    assert service["EnvironmentFile"] == "-/etc/digestbot/env" and service["RestartPreventExitStatus"] == "2"
