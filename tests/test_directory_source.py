"""The folder watcher: complete files only, each version once, bad files as errors, folder problems."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import time
from datetime import timedelta, timezone
from pathlib import Path

import pytest

from bot.config import DirectorySource, FeedSource
from bot.core.errors import DigestError
from bot.core.model import Digest
from bot.sources.base import Incoming
from bot.sources.directory import DirectoryWatcher, is_ignored
from bot.sources.factory import build_source
from bot.sources.feed import FeedPoller

CST = timezone(timedelta(hours=8))

MORNING = """---
title: "2031.04.02.08 过去4小时AI要闻"
date: 2031-04-02T08:00:00+08:00
categories: ["技术进展", "机器人"]
---

1.  [某实验室发布新的开源推理模型 - 研究员甲](https://example.org/a)

    这是一段**测试用**的摘要，描述模型的主要改进。

2.  [Robot arm startup raises funding - Reporter B](https://example.org/b)

    A short English summary written for this test.
"""

EVENING = """---
title: "2031.04.02.20 过去4小时AI要闻"
date: 2031-04-02T20:00:00
categories: ["政策与治理"]
---

1.  [新的治理框架征求意见 - 观察者](https://example.org/c)

    摘要正文。
"""


def write(path: Path, text: str, *, age: float | None = 60.0) -> Path:
    """Write a file; `age` seconds in the past sets its mtime so it counts as settled."""
    path.write_text(text, encoding="utf-8")
    if age is not None:
        then = time.time() - age
        os.utime(path, (then, then))
    return path


def watcher(folder: Path, **kwargs: object) -> DirectoryWatcher:
    options: dict[str, object] = {"poll_interval": 0.05, "default_tz": CST}
    options.update(kwargs)
    return DirectoryWatcher("posts", folder, **options)  # type: ignore[arg-type]


def keys(found: list[Incoming]) -> list[str]:
    return [Path(i.key).name for i in found]


async def test_first_poll_takes_every_settled_file_sorted(tmp_path: Path) -> None:
    write(tmp_path / "2031.04.02.20.md", EVENING)
    write(tmp_path / "2031.04.02.08.md", MORNING)
    found = await watcher(tmp_path).poll()
    assert keys(found) == ["2031.04.02.08.md", "2031.04.02.20.md"]
    first = found[0]
    assert first.source == "posts"
    assert first.key == str(tmp_path / "2031.04.02.08.md")
    assert first.content_hash == hashlib.sha256(MORNING.encode()).hexdigest()
    assert isinstance(first.result, Digest)
    assert first.ok
    assert first.result.id == "2031.04.02.08"
    assert len(first.result.items) == 2
    evening = found[1].result
    assert isinstance(evening, Digest)
    assert evening.date.utcoffset() == timedelta(hours=8)  # default_tz applied to a date without offset


async def test_ignores_hidden_temporary_and_unmatched_files(tmp_path: Path) -> None:
    for name in (".draft.md", "post.md~", "post.md.tmp", "post.md.part", "notes.txt", ".post.md.swp"):
        write(tmp_path / name, MORNING)
    (tmp_path / "folder.md").mkdir()
    write(tmp_path / "real.md", MORNING)
    assert keys(await watcher(tmp_path).poll()) == ["real.md"]


def test_is_ignored() -> None:
    assert is_ignored(Path(".hidden/post.md"))
    assert is_ignored(Path("post.tmp"))
    assert is_ignored(Path("#post.md#"))
    assert not is_ignored(Path("2031/post.md"))


async def test_recursive_pattern_skips_hidden_folders(tmp_path: Path) -> None:
    (tmp_path / "2031").mkdir()
    (tmp_path / ".git").mkdir()
    write(tmp_path / "2031" / "a.md", MORNING)
    write(tmp_path / ".git" / "b.md", MORNING)
    assert keys(await watcher(tmp_path, pattern="**/*.md").poll()) == ["a.md"]


async def test_fresh_file_waits_until_it_is_stable(tmp_path: Path) -> None:
    source = watcher(tmp_path)
    post = write(tmp_path / "post.md", MORNING[:80], age=None)
    assert await source.poll() == []  # just written: not yet known to be complete
    with post.open("a", encoding="utf-8") as handle:
        handle.write(MORNING[80:])
    assert await source.poll() == []  # it grew since the last look
    found = await source.poll()
    assert keys(found) == ["post.md"]
    assert found[0].content_hash == hashlib.sha256(MORNING.encode()).hexdigest()
    assert await source.poll() == []


async def test_atomic_rename_is_taken_once_settled(tmp_path: Path) -> None:
    source = watcher(tmp_path)
    assert await source.poll() == []
    temporary = write(tmp_path / "post.md.tmp", MORNING, age=None)
    assert await source.poll() == []
    temporary.rename(tmp_path / "post.md")
    assert await source.poll() == []
    assert keys(await source.poll()) == ["post.md"]


async def test_unchanged_and_touched_files_are_not_repeated_changed_ones_are(tmp_path: Path) -> None:
    source = watcher(tmp_path)
    post = write(tmp_path / "post.md", MORNING)
    first = await source.poll()
    assert len(first) == 1
    assert await source.poll() == []
    os.utime(post, (time.time() - 30, time.time() - 30))  # touched, same content
    assert await source.poll() == []
    write(post, MORNING.replace("测试用", "修改后"), age=20)
    changed = await source.poll()
    assert keys(changed) == ["post.md"]
    assert changed[0].content_hash != first[0].content_hash


async def test_deleted_then_recreated_file_comes_again(tmp_path: Path) -> None:
    source = watcher(tmp_path)
    post = write(tmp_path / "post.md", MORNING)
    assert len(await source.poll()) == 1
    post.unlink()
    assert await source.poll() == []
    write(post, MORNING)
    assert len(await source.poll()) == 1


async def test_bad_digest_becomes_an_error_result(tmp_path: Path) -> None:
    write(tmp_path / "broken.md", "---\ntitle: [unclosed\n---\n\n1. item\n")
    (tmp_path / "latin1.md").write_bytes("---\ntitle: café\n---\n".encode("latin-1"))
    os.utime(tmp_path / "latin1.md", (time.time() - 60, time.time() - 60))
    found = await watcher(tmp_path).poll()
    assert keys(found) == ["broken.md", "latin1.md"]
    for incoming in found:
        assert isinstance(incoming.result, DigestError)
        assert not incoming.ok
        assert incoming.result.source == incoming.key
    assert "UTF-8" in str(found[1].result)


async def test_oversized_file_is_refused_with_its_hash(tmp_path: Path) -> None:
    data = MORNING * 3
    write(tmp_path / "big.md", data)
    found = await watcher(tmp_path, max_bytes=len(MORNING)).poll()
    assert len(found) == 1
    assert isinstance(found[0].result, DigestError)
    assert f"{len(MORNING)}-byte limit" in str(found[0].result)
    assert found[0].content_hash == hashlib.sha256(data.encode()).hexdigest()


async def test_symlinks_leading_out_of_the_folder_are_skipped_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder, elsewhere = tmp_path / "posts", tmp_path / "elsewhere"
    folder.mkdir()
    elsewhere.mkdir()
    secret = write(elsewhere / "secret.md", MORNING)
    (folder / "escape.md").symlink_to(secret)
    write(folder / "2031.04.02.20.md", EVENING)
    (folder / "alias.md").symlink_to(folder / "2031.04.02.20.md")  # inside the folder: still works
    source = watcher(folder)
    with caplog.at_level(logging.WARNING, logger="bot.sources.directory"):
        assert keys(await source.poll()) == ["2031.04.02.20.md", "alias.md"]
        assert await source.poll() == []
        (folder / "escape.md").unlink()
        await source.poll()
        (folder / "escape.md").symlink_to(secret)  # gone and back: warned again, once
        await source.poll()
        await source.poll()
    warned = [r.getMessage() for r in caplog.records]
    assert len(warned) == 2
    assert str(folder / "escape.md") in warned[0] and "outside the folder" in warned[0]


async def test_a_symlinked_subfolder_outside_the_folder_is_skipped(tmp_path: Path) -> None:
    folder, elsewhere = tmp_path / "posts", tmp_path / "elsewhere"
    folder.mkdir()
    elsewhere.mkdir()
    write(elsewhere / "secret.md", MORNING)
    (folder / "sub").symlink_to(elsewhere, target_is_directory=True)
    (folder / "inner").mkdir()
    write(folder / "inner" / "post.md", MORNING)
    (folder / "linked").symlink_to(folder / "inner", target_is_directory=True)
    found = await watcher(folder, pattern="*/*.md").poll()
    assert sorted(Path(i.key).relative_to(folder).as_posix() for i in found) == [
        "inner/post.md",
        "linked/post.md",
    ]


async def test_missing_folder_warns_once_then_recovers(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "later"
    source = watcher(folder)
    with caplog.at_level(logging.INFO, logger="bot.sources.directory"):
        for _ in range(3):
            assert await source.poll() == []
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1
        assert str(folder) in warnings[0].getMessage()
        folder.mkdir()
        write(folder / "post.md", MORNING)
        assert keys(await source.poll()) == ["post.md"]
        assert any("readable again" in r.getMessage() for r in caplog.records)


async def test_path_that_is_a_file_warns(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    not_a_folder = write(tmp_path / "file.md", MORNING)
    with caplog.at_level(logging.WARNING, logger="bot.sources.directory"):
        assert await watcher(not_a_folder).poll() == []
        assert await watcher(not_a_folder).poll() == []
    assert any("cannot read folder" in r.getMessage() for r in caplog.records)


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads any file")
async def test_unreadable_file_warns_once_and_is_retried(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    post = write(tmp_path / "post.md", MORNING)
    post.chmod(0)
    source = watcher(tmp_path)
    with caplog.at_level(logging.WARNING, logger="bot.sources.directory"):
        assert await source.poll() == []
        assert await source.poll() == []
    assert len([r for r in caplog.records if "cannot read" in r.getMessage()]) == 1
    post.chmod(0o644)
    assert keys(await source.poll()) == ["post.md"]


async def test_run_feeds_the_queue_until_cancelled(tmp_path: Path) -> None:
    write(tmp_path / "a.md", MORNING)
    queue: asyncio.Queue[Incoming] = asyncio.Queue()
    task = asyncio.create_task(watcher(tmp_path).run(queue))
    first = await asyncio.wait_for(queue.get(), timeout=5)
    assert Path(first.key).name == "a.md"
    write(tmp_path / "b.md", EVENING)
    second = await asyncio.wait_for(queue.get(), timeout=5)
    assert Path(second.key).name == "b.md"
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"pattern": ""}, "pattern"),
        ({"pattern": "/etc/*.md"}, "pattern"),
        ({"pattern": "../*.md"}, "pattern"),
        ({"poll_interval": 0}, "poll_interval"),
        ({"max_bytes": 0}, "max_bytes"),
    ],
)
def test_bad_arguments_are_rejected(tmp_path: Path, kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        watcher(tmp_path, **kwargs)


def test_build_source_from_config(tmp_path: Path) -> None:
    folder = DirectorySource(
        name="posts", type="directory", path=tmp_path, poll_interval=0.5, pattern="*.markdown"
    )
    built = build_source(folder, default_tz=CST, max_bytes=1234, max_feed_bytes=99_999)
    assert isinstance(built, DirectoryWatcher)
    assert (built.name, built.path, built.pattern, built.poll_interval, built.max_bytes) == (
        "posts",
        tmp_path,
        "*.markdown",
        0.5,
        1234,
    )
    site = FeedSource(
        name="site", type="feed", url="https://example.org/feed.xml", poll_interval=300, timeout=5
    )
    poller = build_source(site, default_tz=CST, max_bytes=1234, max_feed_bytes=99_999)
    assert isinstance(poller, FeedPoller)
    assert (poller.url, poller.poll_interval, poller.timeout, poller.default_tz) == (
        "https://example.org/feed.xml",
        300,
        5,
        CST,
    )
    # max_digest_bytes caps each feed entry, max_feed_bytes the whole document.
    assert (poller.max_entry_bytes, poller.max_bytes) == (1234, 99_999)
