"""The command line's own help, version and config reporting, as a new operator meets them."""

from __future__ import annotations

import filecmp
from pathlib import Path

from cli_helpers import run_cli

import bot
from bot.config import packaged_defaults
from bot.defaults import seed_samples

TOKEN = "7512345679:AAH-literalLITERALliteralLITERAL12"


def test_version() -> None:
    result = run_cli("--version")
    assert (result.returncode, result.stdout.strip()) == (0, f"digestbot {bot.__version__}")


def test_help_and_run_help_explain_the_config_search_order_and_token_variables(tmp_path: Path) -> None:
    for args in (["--help"], ["run", "--help"], ["check-config", "--help"]):
        text = " ".join(run_cli(*args, home=tmp_path).stdout.split())
        assert "$DIGESTBOT_CONFIG, else ./config.yaml, else ./config.example.yaml" in text, args
        assert str(tmp_path / "config" / "digestbot" / "config.yaml") in text
        assert "$TELEGRAM_TOKEN (telegram.token)" in text and "$DISCORD_TOKEN (discord.token)" in text


def test_check_config_reports_an_unset_variable_together_with_every_other_problem(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("telegram:\n  token: ${DIGESTBOT_TEST_UNSET}\ntimezone: Mars/Olympus\nbogus: 1\n")
    result = run_cli("check-config", "--config", str(config))
    lines = result.stderr.splitlines()
    assert result.returncode == 2 and len(lines) == 3, result.stderr
    assert "telegram.token: environment variable DIGESTBOT_TEST_UNSET is not set" in lines[0]
    assert "timezone" in lines[1] and "bogus: unknown key" in lines[2]


def test_a_token_written_in_the_file_is_a_warning_naming_the_key_never_the_token(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(f"telegram:\n  token: '{TOKEN}'\n")
    result = run_cli("check-config", "--config", str(config))
    assert result.returncode == 0 and TOKEN not in result.stderr + result.stdout
    assert result.stderr.startswith(f"digestbot: warning: {config}: telegram.token: a secret is written")
    config.write_text("telegram:\n  token: ${DIGESTBOT_TEST_TOKEN}\n")
    result = run_cli("check-config", "--config", str(config), env={"DIGESTBOT_TEST_TOKEN": TOKEN})
    assert (result.returncode, result.stderr) == (0, "")


def test_check_config_shows_where_the_files_are_relative_to_the_config(tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    config = tmp_path / "conf" / "c.yaml"
    config.write_text("database: data/bot.db\nsources:\n  - {name: news, type: directory, path: posts}\n")
    (tmp_path / "conf" / "posts").mkdir()
    result = run_cli("check-config", "--config", str(config), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"database: {tmp_path}/conf/data/bot.db (not there yet: created at the first run)" in result.stdout
    assert f"digests (news): {tmp_path}/conf/posts\n" in result.stdout


def test_outside_a_project_folder_the_files_go_to_the_user_data_folder(tmp_path: Path) -> None:
    result = run_cli("check-config", cwd=tmp_path, home=tmp_path)
    data = tmp_path / "data" / "digestbot"
    assert result.returncode == 0 and "packaged defaults: OK" in result.stdout
    assert (
        f"database: {data}/digestbot.db" in result.stdout
        and f"digests (local): {data}/digests" in result.stdout
    )


def test_a_config_in_the_user_config_folder_is_found(tmp_path: Path) -> None:
    folder = tmp_path / "config" / "digestbot"
    folder.mkdir(parents=True)
    (folder / "config.yaml").write_text("database: mine.db\n")
    result = run_cli("check-config", cwd=tmp_path, home=tmp_path)
    assert f"{folder}/config.yaml: OK" in result.stdout and f"database: {folder}/mine.db" in result.stdout


def test_the_first_run_on_packaged_defaults_gets_the_sample_digest(tmp_path: Path) -> None:
    settings = packaged_defaults(tmp_path)
    assert seed_samples(settings) == [tmp_path / "digests"]
    (copied,) = (tmp_path / "digests").iterdir()
    assert filecmp.cmp(copied, Path("digests") / copied.name, shallow=False)
    copied.unlink()  # the operator's choice from then on: an emptied folder stays empty
    assert seed_samples(settings) == [] and not any((tmp_path / "digests").iterdir())
