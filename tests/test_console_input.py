"""Console input: lines are cut to a bound while they stream in, and an over-long line is refused
once, before any parsing, whatever it contains."""

from __future__ import annotations

import itertools
import tracemalloc
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.commands.model import Caller, ChatRef, Command
from bot.commands.service import CommandService
from bot.config import load_settings
from bot.platforms.console import CONSOLE_CHAT, MAX_LINE, ConsolePlatform
from bot.platforms.console_input import TOO_LONG, InputReader, LineSplitter, TooLong
from bot.platforms.registry import default_renderers
from bot.store.db import Store

ROOT = Path(__file__).resolve().parent.parent
LIMIT = 16


def expected(lines: list[bytes], limit: int) -> list[bytes | TooLong]:
    return [line if len(line) <= limit else TOO_LONG for line in lines]


@given(
    lines=st.lists(st.binary(max_size=3 * LIMIT).map(lambda b: b.replace(b"\n", b"")), max_size=12),
    cuts=st.lists(st.integers(min_value=0, max_value=12 * 3 * LIMIT), max_size=8),
    terminated=st.booleans(),
)
def test_splitter_gives_the_same_lines_however_the_input_is_chunked(
    lines: list[bytes], cuts: list[int], terminated: bool
) -> None:
    data = b"\n".join(lines) + (b"\n" if terminated and lines else b"")
    splitter = LineSplitter(LIMIT)
    out: list[bytes | TooLong] = []
    bounds = sorted({0, len(data), *(c for c in cuts if c < len(data))})
    for start, end in itertools.pairwise(bounds):
        out += splitter.feed(data[start:end])
    out += splitter.close()
    wanted = expected(lines, LIMIT)
    if not terminated and lines and lines[-1] == b"":
        wanted.pop()  # an empty unterminated last "line" is no line at all
    assert out == wanted


async def test_a_10_mb_line_from_a_file_costs_the_bound_not_its_size(tmp_path: Path) -> None:
    """`digestbot run < file` with one 10 MB line: one TOO_LONG, the next line intact, little memory."""
    path = tmp_path / "typed.txt"
    with path.open("wb") as handle:
        handle.write(b"/subscribe ")
        for _ in range(160):
            handle.write(b"x" * 65536)
        handle.write("\n/help 机器人\n".encode())
    with path.open("rb") as stdin:
        tracemalloc.start()
        try:
            reader = InputReader(stdin.fileno(), MAX_LINE)
            reader.start()
            lines = [await reader.get() for _ in range(3)]
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert lines == [TOO_LONG, "/help 机器人", None]
    assert peak < 1_000_000, f"peak {peak} bytes while reading a 10 MB line"


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[CommandService]:
    store = await Store.open(tmp_path / "bot.db")
    vocabulary = load_settings(ROOT / "config.example.yaml").vocabulary()
    yield CommandService(store, vocabulary, default_language="en", renderers=default_renderers())
    await store.close()


async def test_an_over_long_line_is_refused_before_it_is_parsed(service: CommandService) -> None:
    """Typed straight into handle_line (no reader in between): still one refusal, nothing done."""
    console = ConsolePlatform(service, language="en")
    reply = await console.handle_line("/subscribe " + "robotics " * 120_000)
    assert reply is not None and reply.error
    assert reply.text == f"Line ignored: longer than {MAX_LINE} bytes."
    assert await service.store.get_subscription("console", CONSOLE_CHAT.chat_id, None) is None
    accepted = await console.handle_line("/subscribe " + "robotics " * 10)
    assert accepted is not None and not accepted.error


async def test_help_mentions_ctrl_d_only_on_the_console(service: CommandService) -> None:
    reply = await ConsolePlatform(service, language="en").handle_line("/help")
    assert reply is not None and "Ctrl-D" in reply.text
    elsewhere = Command("help", (), ChatRef("telegram", "1", None, "private"), Caller("1", language="en"))
    assert "Ctrl-D" not in (await service.handle(elsewhere)).text
