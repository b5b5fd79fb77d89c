"""The bot as a child process (`python -m bot run --config ...`), the way a service manager runs it.

The process e2e tests and the console process tests start, read and stop it the same way: output to
a log file (DEBUG volume can never block a pipe), tokens from the environment, SIGTERM to stop.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from app_helpers import ROOT
from waiting import wait_for

TELEGRAM_TOKEN = "7512345679:AAH-procPROCprocPROCprocPROCproc5678"
DISCORD_TOKEN = "MTMxMDAy.process-e2e-discord.token-value-42"
RUNNING = "digestbot running"


@dataclass
class BotProcess:
    """One `python -m bot run` child; its output is appended to `log` (a file, so DEBUG volume can
    never block it) from byte `offset` on."""

    process: asyncio.subprocess.Process
    log: Path
    offset: int

    def stderr(self) -> str:
        """What this process wrote (not an earlier run's lines in the same log)."""
        with self.log.open("rb") as handle:
            handle.seek(self.offset)
            return handle.read().decode("utf-8", errors="replace")

    async def running(self, timeout: float = 20.0) -> None:
        def up() -> bool:
            if self.process.returncode is not None:
                raise AssertionError(f"the bot exited with {self.process.returncode}:\n{self.stderr()}")
            return RUNNING in self.stderr()

        await wait_for(up, timeout, "the bot to start")

    async def terminate(self, timeout: float = 5.0) -> int:
        """SIGTERM, then the exit status; a bot that does not exit in time fails the test (and dies)."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(self.process.wait(), timeout)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
            raise AssertionError(
                f"no exit within {timeout:g} s of SIGTERM:\n{self.stderr()[-3000:]}"
            ) from None


@asynccontextmanager
async def bot_process(
    config: Path, log: Path, stdin: int = asyncio.subprocess.DEVNULL
) -> AsyncIterator[BotProcess]:
    """Start the bot on `config` (from its folder), logging to `log`; killed if still alive at the end."""
    env = dict(os.environ, TELEGRAM_TOKEN=TELEGRAM_TOKEN, DISCORD_TOKEN=DISCORD_TOKEN)
    env.pop("DIGESTBOT_CONFIG", None)
    # The code under test is this checkout, whatever copy an editable install happens to point at.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    with log.open("ab") as sink:
        offset = sink.tell()
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            "--config",
            str(config),
            cwd=config.parent,
            env=env,
            stdin=stdin,
            stdout=sink,
            stderr=sink,
        )
    bot = BotProcess(process, log, offset)
    try:
        yield bot
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
