"""A local chat on stdin/stdout: the same commands as on Telegram, deliveries printed as text.

It is how a new user sees the bot work in the first minute, with no token at all.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import shlex
import sys
from collections.abc import Callable
from typing import IO, Any, TextIO

from bot.commands import messages
from bot.commands.model import Caller, ChatRef, Command, Reply
from bot.commands.service import CommandService
from bot.delivery.outcome import Outcome, Payload, Sent, Target
from bot.platforms.console_input import InputReader, TooLong
from bot.platforms.console_spec import CONSOLE_KIND, PLATFORM

log = logging.getLogger(__name__)
CONSOLE_CHAT = ChatRef(platform=PLATFORM, chat_id="local", thread_id=None, kind=CONSOLE_KIND, title="console")
# Bytes read per line (and characters parsed): far above any real command, far below slow parsing.
MAX_LINE = 4096


class ConsoleSender:
    """Prints each delivered part; payloads are `{"text": ...}` from the text renderer."""

    platform = PLATFORM

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._ids = itertools.count(1)

    async def send(self, target: Target, payload: Payload) -> Outcome:
        self._out.write(f"\n📬 {payload['text']}\n")
        self._out.flush()
        return Sent(str(next(self._ids)))

    def plain(self, payload: Payload) -> Payload:
        return payload


def parse_line(line: str) -> tuple[str, tuple[str, ...]] | None:
    """`/name arg "quoted arg"` -> (name, args); None for blank lines. Unbalanced quotes split on spaces."""
    line = line.strip()
    if not line:
        return None
    try:
        words = shlex.split(line)
    except ValueError:
        words = line.split()
    name = words[0].removeprefix("/").lower()
    return name, tuple(words[1:])


class ConsolePlatform:
    """Reads commands from stdin in the bot's loop; the console user owns and manages its chat.

    End of input from a terminal (Ctrl-D) calls `on_close` (the app stops); from anything else (a
    pipe, a file, /dev/null under a service manager) the bot keeps delivering without input.
    """

    name = PLATFORM

    def __init__(
        self,
        service: CommandService,
        *,
        language: str,
        stdin: IO[Any] | None = None,
        out: TextIO | None = None,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        self._service = service
        self._language = language
        self._stdin = stdin if stdin is not None else sys.stdin
        self._out = out or sys.stdout
        self._on_close = on_close or (lambda: None)
        self.sender = ConsoleSender(self._out)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._write(messages.text("console_welcome", await self._reply_language()))
        fd = _fileno(self._stdin)
        if fd is None:
            log.info("console has no input; deliveries continue")
            return
        reader = InputReader(fd, MAX_LINE)
        reader.start()
        self._task = asyncio.create_task(self._read_loop(reader, os.isatty(fd)), name="console-input")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def handle_line(self, line: str | TooLong) -> Reply | None:
        """One typed line; a line over MAX_LINE gets one refusal and is never parsed, and text that
        is no command gets a hint (not "unknown command"): a new user's first line is often "hello"."""
        if isinstance(line, TooLong) or len(line) > MAX_LINE:
            return await self._refuse("line_too_long", limit=MAX_LINE)
        parsed = parse_line(line)
        if parsed is None:
            return None
        if not line.lstrip().startswith("/"):
            return await self._refuse("plain_text")
        name, args = parsed
        caller = Caller(user_id="console", language=self._language, can_manage=True, is_owner=True)
        typed = line.strip().partition(" ")[2].strip()
        reply = await self._service.handle(Command(name, args, CONSOLE_CHAT, caller, text=typed))
        self._show(reply)
        return reply

    async def _refuse(self, key: str, **values: object) -> Reply:
        """A line the console answers itself, in the language commands are answered in."""
        reply = Reply(messages.text(key, await self._reply_language(), **values), error=True)
        self._show(reply)
        return reply

    async def _reply_language(self) -> str:
        return await self._service.reply_language(CONSOLE_CHAT, self._language)

    async def _read_loop(self, reader: InputReader, terminal: bool) -> None:
        while (line := await reader.get()) is not None:
            await self.handle_line(line)
        if terminal:
            log.info("console closed (Ctrl-D): stopping")
            self._on_close()
        else:
            log.info("console input closed; deliveries continue")

    def _show(self, reply: Reply) -> None:
        self._write(reply.text)
        if reply.picker is not None and not reply.picker.done:
            for option in reply.picker.options:
                mark = "[x]" if option.selected else "[ ]"
                self._write(f"  {mark} {option.id:<12} {option.label}")
            self._write("  /categories toggle <id> | /categories all | /categories done")
        for part in reply.parts:
            self._write(part["text"] if isinstance(part, dict) else part)
        if reply.confirm is not None:
            command = f"/{reply.confirm.command} {' '.join(reply.confirm.args())}"
            self._write(messages.text("confirm_console", self._language, command=command))
        pager = reply.pager
        pages = [page for page in (pager.previous, pager.next) if page is not None] if pager else []
        if pager is not None and pages:
            commands = " | ".join(f"/{pager.command} {' '.join(pager.args(page))}" for page in pages)
            self._write(messages.text("search_console", self._language, commands=commands))

    def _write(self, text: str) -> None:
        self._out.write(text + "\n")
        self._out.flush()


def _fileno(stream: IO[Any] | None) -> int | None:
    """The descriptor behind `stream`; None when there is none (stdin closed, an in-memory stream)."""
    if stream is None:
        return None
    try:
        return stream.fileno()
    except (OSError, ValueError):
        return None
