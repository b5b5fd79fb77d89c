"""The collector is held off while a digest body is parsed (it took half the parse time of posts
dense in markup, see `bot.core.collector.paused`), and its state is given back afterwards."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from bot.core.parse import parse_digest

POST = (
    '---\ntitle: "2025.12.01.08 Bold"\ndate: 2025-12-01T08:00:00+08:00\n---\n\n'
    "1.  [A long item](https://example.com/a)\n\n    " + "".join(f"**b{n}** " for n in range(3000)) + "\n"
)


@pytest.fixture
def collections() -> Iterator[list[int]]:
    """The generations of the collections that start while the test runs."""
    started: list[int] = []

    def watch(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started.append(info["generation"])

    gc.collect()
    gc.callbacks.append(watch)
    try:
        yield started
    finally:
        gc.callbacks.remove(watch)


def test_no_collection_runs_during_a_markup_dense_parse(collections: list[int]) -> None:
    digest = parse_digest(POST, "bold.md")
    assert len(digest.items[0].summary[0]) > 3000  # 3000 bold runs and the spaces between them
    assert len(collections) <= 1  # the front matter may fill the youngest generation once
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off() -> None:
    gc.disable()
    try:
        parse_digest(POST, "bold.md")
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_parses_in_several_threads_at_once_give_the_collector_back() -> None:
    """Overlapping pauses in worker threads (as ingest and previews run them) must never leave the
    collector off: the last parse out restores it, whatever order they finish in."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        for _ in range(3):
            list(pool.map(lambda n: parse_digest(POST, f"bold{n}.md"), range(8)))
            assert gc.isenabled()
