"""`digestbot search` in-process (bot.cli.main, as the console script calls it) on a real database."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from app_helpers import example_categories
from search_helpers import ITEMS, archive_digest, store_digest

from bot.cli import main
from bot.core.model import Digest
from bot.store.db import Store


def config(folder: Path) -> Path:
    path = folder / "config.yaml"
    settings = {"database": "bot.db", "categories": example_categories(), "timezone": "Asia/Shanghai"}
    path.write_text(yaml.safe_dump(settings, allow_unicode=True))
    return path


async def record(database: Path, digest: Digest) -> None:
    async with await Store.open(database) as store:
        await store_digest(store, digest)


async def archive(database: Path, digests: int) -> None:
    async with await Store.open(database) as store:
        for n in range(digests):
            await store_digest(store, archive_digest(f"2025.06.0{n + 1}.08"))


@pytest.fixture
def configured(tmp_path: Path) -> Path:
    asyncio.run(archive(tmp_path / "bot.db", 2))
    return config(tmp_path)


def test_prints_newest_hits_one_per_line(configured: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", "人形机器人", "夜班", "--config", str(configured)]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines() == [
        f"2025-06-01 08:00 CST  2025.06.02.08 #1  {ITEMS[0][0]}  https://news.example/2025.06.02.08/1",
        f"2025-06-01 08:00 CST  2025.06.01.08 #1  {ITEMS[0][0]}  https://news.example/2025.06.01.08/1",
    ]
    assert err == ""


def test_short_words_search_the_last_30_days(configured: Path, capsys: pytest.CaptureFixture[str]) -> None:
    today = archive_digest("today", date=datetime.now(UTC))
    asyncio.run(record(configured.parent / "bot.db", today))
    assert main(["search", "夜班", "--config", str(configured)]) == 0
    out, err = capsys.readouterr()
    assert [line.split("  ")[1:] for line in out.splitlines()] == [
        ["today #1", ITEMS[0][0], "https://news.example/today/1"]
    ]
    assert err == "digestbot: words under 3 characters search only the last 30 days\n"


def test_json_and_limit(configured: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", "编辑部", "--limit", "3", "--json", "--config", str(configured)]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert [(h["digest"], h["item"]) for h in hits] == [
        ("2025.06.02.08", 4),
        ("2025.06.02.08", 3),
        ("2025.06.02.08", 2),
    ]
    assert hits[0] == {
        "digest": "2025.06.02.08",
        "item": 4,
        "date": "2025-06-01T00:00:00+00:00",
        "title": ITEMS[3][0],
        "url": "https://news.example/2025.06.02.08/4",
    }
    assert main(["search", "量子计算", "--json", "--config", str(configured)]) == 0
    assert capsys.readouterr().out.strip() == "[]"


@pytest.mark.parametrize(
    ("words", "message"),
    [
        ("x" * 201, "digestbot: error: search: the search is longer than 200 characters\n"),
        (" ", "digestbot: error: search: nothing to search for\n"),
        (" ".join("abcdefghi"), "digestbot: error: search: at most 8 words\n"),
    ],
)
def test_bad_query_is_one_line_and_exit_2(
    configured: Path, capsys: pytest.CaptureFixture[str], words: str, message: str
) -> None:
    assert main(["search", words, "--config", str(configured)]) == 2
    assert capsys.readouterr().err == message


@pytest.mark.parametrize("limit", ["0", "51", "x", "²"])
def test_bad_limit_is_refused_by_the_parser(
    configured: Path, capsys: pytest.CaptureFixture[str], limit: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["search", "机器人", "--limit", limit, "--config", str(configured)])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert f"argument --limit: expected a whole number from 1 to 50, got {limit!r}" in err
    assert "Traceback" not in err


def test_missing_database_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", "机器人", "--config", str(config(tmp_path))]) == 2
    assert capsys.readouterr().err == f"digestbot: error: {tmp_path / 'bot.db'}: no database there\n"
