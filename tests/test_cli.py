"""The command line as users and acceptance checks run it: exit codes, stdout, stderr (in-process
through `bot.cli.main`; one real `python -m bot` process for the exit status the shell sees)."""

from __future__ import annotations

import json
from pathlib import Path

from app_helpers import ROOT, SAMPLE
from cli_helpers import run_cli as run
from cli_helpers import run_cli_process

BAD = ROOT / "tests" / "fixtures" / "digests" / "bad"


def test_preview_json_telegram_payloads() -> None:
    result = run("preview", str(SAMPLE), "--platform", "telegram", "--json")
    assert result.returncode == 0, result.stderr
    payloads = json.loads(result.stdout)
    assert payloads and all(p["parse_mode"] == "HTML" and p["text"] for p in payloads)


def test_preview_json_discord_with_categories() -> None:
    result = run("preview", str(SAMPLE), "--platform", "discord", "--categories", "机器人,Jobs", "--json")
    assert result.returncode == 0, result.stderr
    bodies = json.loads(result.stdout)
    embeds = [e for body in bodies for e in body.get("embeds", [])]
    assert embeds and len(embeds) < 8


def test_preview_text_is_readable() -> None:
    result = run("preview", str(SAMPLE), "--platform", "text")
    assert result.returncode == 0, result.stderr
    assert "人形机器人" in result.stdout


def test_bad_file_one_line_error_others_still_previewed() -> None:
    bad = BAD / "invalid_yaml.md"
    result = run_cli_process("preview", str(bad), str(SAMPLE), "--platform", "telegram", "--json")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and str(bad) in lines[0]
    assert "Traceback" not in result.stderr
    assert json.loads(result.stdout)


def test_every_bad_fixture_is_a_clean_error() -> None:
    """Zone-less dates are bad only without a default zone; the config gives one, so they pass."""
    needs_zone = {"bare_date.md", "naive_date.md"}
    bad = sorted(p for p in BAD.iterdir() if p.name not in needs_zone)
    result = run("preview", *map(str, bad), "--platform", "text")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == len(bad)
    for path, line in zip(bad, lines, strict=True):
        assert line.startswith(f"digestbot: error: {path}")


def test_missing_file_and_unknown_category() -> None:
    result = run("preview", "/nonexistent/x.md", "--platform", "text")
    assert result.returncode == 2 and "/nonexistent/x.md" in result.stderr
    result = run("preview", str(SAMPLE), "--platform", "text", "--categories", "robotics,unicorns")
    assert result.returncode == 2 and "--categories" in result.stderr and "unicorns" in result.stderr


def test_bad_platform_is_a_usage_error() -> None:
    result = run("preview", str(SAMPLE), "--platform", "myspace")
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_check_config_lists_problems(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("timezone: Nowhere/Land\nsources:\n  - {name: a, type: directory}\nbogus: 1\n")
    result = run("check-config", "--config", str(config))
    assert result.returncode == 2
    assert "timezone" in result.stderr and "sources.0.path" in result.stderr and "bogus" in result.stderr
    assert "Traceback" not in result.stderr


def test_check_config_ok_and_packaged_defaults(tmp_path: Path) -> None:
    assert run("check-config", "--config", str(ROOT / "config.example.yaml")).returncode == 0
    result = run("check-config", cwd=tmp_path, home=tmp_path)
    assert result.returncode == 0 and "packaged defaults" in result.stdout


def test_run_with_broken_config_exits_cleanly(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("telegram:\n  token: ${DIGESTBOT_TEST_UNSET_VAR}\n")
    result = run("run", "--config", str(config))
    assert result.returncode == 2 and "DIGESTBOT_TEST_UNSET_VAR" in result.stderr


def test_bad_timezone_flag_is_a_clean_error() -> None:
    result = run("preview", str(SAMPLE), "--platform", "text", "--timezone", "Mars/Olympus")
    assert result.returncode == 2 and "--timezone" in result.stderr and "Traceback" not in result.stderr


def test_date_no_zone_can_show_is_a_file_line_error_and_preview_goes_on(tmp_path: Path) -> None:
    late = tmp_path / "late.md"
    late.write_text("---\ntitle: T\ndate: 9999-12-31T23:00:00-12:00\n---\n\n1. [A](https://example.org/a)\n")
    result = run("preview", str(late), str(SAMPLE), "--platform", "telegram", "--json")
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"digestbot: error: {late}:3: 'date' ") and "outside the range" in line
    assert json.loads(result.stdout)


def test_a_digest_with_no_items_previews_as_nothing(tmp_path: Path) -> None:
    empty = tmp_path / "empty.md"
    empty.write_text("---\ntitle: T\ndate: 2025-01-01T00:00:00Z\n---\n\nNo list here.\n")
    result = run("preview", str(empty), "--platform", "telegram", "--json")
    assert (result.returncode, json.loads(result.stdout), result.stderr) == (0, [], "")
    result = run("preview", str(empty), "--platform", "text")
    assert (result.returncode, result.stdout) == (0, "")
    assert result.stderr.strip() == f"digestbot: {empty}: no items, nothing would be sent"


def test_a_category_filter_that_keeps_no_item_previews_as_nothing() -> None:
    result = run("preview", str(SAMPLE), "--platform", "discord", "--categories", "research", "--json")
    assert (result.returncode, json.loads(result.stdout)) == (0, [])
    result = run("preview", str(SAMPLE), "--platform", "discord", "--categories", "research")
    assert (result.returncode, result.stdout) == (0, "") and "no items" in result.stderr
