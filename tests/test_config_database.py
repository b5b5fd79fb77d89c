"""The `database` setting: a SQLite file path (resolved as before) or a PostgreSQL URL (kept as
text), its connect timeout, and a database password never reaching a log line."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from cli_helpers import run_cli
from telegram_helpers import debug_log

from bot.config import ConfigError, load_settings
from bot.logs import setup_logging

URL = "postgresql://bot:pa55-w0rd@db.internal:5432/digest"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("url", [URL, "postgres://bot@db/digest", "POSTGRESQL://db/digest"])
def test_a_postgres_url_is_kept_as_text(tmp_path: Path, url: str) -> None:
    settings = load_settings(write(tmp_path, f"database: {url}\n"))
    assert settings.database == url and isinstance(settings.database, str)


def test_a_url_from_the_environment_is_kept_as_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIGESTBOT_DB", URL)
    settings = load_settings(write(tmp_path, "database: ${DIGESTBOT_DB}\n"))
    assert settings.database == URL


def test_a_path_is_still_resolved_next_to_the_config(tmp_path: Path) -> None:
    assert load_settings(write(tmp_path, "database: data/bot.db\n")).database == tmp_path / "data" / "bot.db"
    assert load_settings(write(tmp_path, "database: /srv/bot.db\n")).database == Path("/srv/bot.db")
    assert load_settings(write(tmp_path, "{}\n")).database == tmp_path / "digestbot.db"


def test_another_kind_of_url_is_refused_without_its_password(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, "database: mysql://bot:hunter2@db/digest\n"))
    assert info.value.problems == [
        "database: a mysql:// URL: expected a SQLite file path or a postgresql:// URL"
    ]


def test_the_connect_timeout_defaults_to_30_seconds_and_must_be_positive(tmp_path: Path) -> None:
    assert load_settings(write(tmp_path, "{}\n")).database_connect_timeout == 30
    assert load_settings(write(tmp_path, "database_connect_timeout: 2.5\n")).database_connect_timeout == 2.5
    for bad in ("0", "-1", "soon"):
        with pytest.raises(ConfigError) as info:
            load_settings(write(tmp_path, f"database_connect_timeout: {bad}\n"))
        (problem,) = info.value.problems
        assert problem.startswith("database_connect_timeout: ")


def test_a_database_password_is_masked_in_every_log_line() -> None:
    with debug_log() as stream:
        setup_logging("INFO", [], stream)
        log = logging.getLogger("bot.store.pg_connect")
        log.warning("cannot connect to %s", URL)
        try:
            raise OSError("connect failed: postgres://bot:other%40secret@10.0.0.5/digest timed out")
        except OSError:
            log.exception("retrying")
    output = stream.getvalue()
    assert "pa55-w0rd" not in output and "other%40secret" not in output
    assert "cannot connect to postgresql://bot:***@db.internal:5432/digest" in output
    assert "postgres://bot:***@10.0.0.5/digest timed out" in output


def test_the_database_password_is_a_secret_of_the_settings_in_every_form(tmp_path: Path) -> None:
    """The log filter also hides the password where no URL pattern would find it (a library
    quoting it alone, percent-encoded or not, or given as a `password=` parameter)."""
    url = "postgresql://bot:p%40ss word@db/digest?password=second"
    settings = load_settings(write(tmp_path, f"database: '{url}'\n"))
    assert {"p%40ss word", "p@ss word", "second"} <= set(settings.secrets())


def test_other_url_passwords_are_still_redacted() -> None:
    with debug_log() as stream:
        setup_logging("INFO", [], stream)
        logging.getLogger("bot.net").warning("proxy http://user:proxy-pass@proxy:3128 failed")
    assert "http://user:[REDACTED]@proxy:3128" in stream.getvalue()


def test_check_config_shows_a_database_url_without_its_password(tmp_path: Path) -> None:
    config = write(tmp_path, "database: ${DIGESTBOT_DB}\n")
    result = run_cli("check-config", "--config", str(config), env={"DIGESTBOT_DB": URL})
    assert result.returncode == 0, result.stderr
    assert "database: postgresql://bot:***@db.internal:5432/digest\n" in result.stdout
    assert "pa55-w0rd" not in result.stdout + result.stderr
