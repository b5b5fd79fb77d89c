"""The console bot as a terminal user and a service manager run it: `python -m bot run` with a real
stdin (a pipe held open, a pseudo-terminal, a pipe with a 10 MB line), stopped by signals or Ctrl-D.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from pathlib import Path

import yaml
from app_helpers import config_data, example_categories
from process_helpers import BotProcess, bot_process
from waiting import wait_for

GRACE = 2.0
HELP = "Commands:"
CTRL_D_HELP = "Ctrl-D (in a terminal) ends the chat and stops the bot."
REFUSED = "Line ignored: longer than 4096 bytes."


def console_config(tmp_path: Path) -> Path:
    """No token anywhere, so the bot runs the console; English replies; a short shutdown grace."""
    data = config_data(
        tmp_path,
        categories=example_categories(),
        poll_interval=0.1,
        delivery={"backoff_base": 0.05, "shutdown_grace": GRACE},
    )
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


async def exit_status(bot: BotProcess, within: float) -> int:
    """The exit status, or a clear failure (and a killed process) when it takes longer than `within`."""
    try:
        return await asyncio.wait_for(bot.process.wait(), within)
    except TimeoutError:
        bot.process.kill()
        await bot.process.wait()
        raise AssertionError(f"still running {within:g} s later:\n{bot.stderr()[-3000:]}") from None


def clean(output: str) -> bool:
    return "Traceback" not in output and "KeyboardInterrupt" not in output


async def test_sigterm_with_stdin_held_open_exits_within_the_grace(tmp_path: Path) -> None:
    async with bot_process(
        console_config(tmp_path), tmp_path / "bot.log", stdin=asyncio.subprocess.PIPE
    ) as bot:
        assert bot.process.stdin is not None
        await bot.running()
        bot.process.stdin.write(b"/help\n")
        await bot.process.stdin.drain()
        await wait_for(lambda: HELP in bot.stderr(), message="the /help reply")
        assert await bot.terminate(timeout=GRACE) == 0  # stdin is still open
        assert "digestbot stopped" in bot.stderr() and clean(bot.stderr())
        bot.process.stdin.close()


async def test_ctrl_c_pressed_again_and_again_exits_promptly_and_cleanly(tmp_path: Path) -> None:
    """Ctrl-C, then Ctrl-C every 10 ms until the bot is gone: each press lands somewhere else in the
    shutdown (while stopping, after the loop closed, while the interpreter exits)."""
    config = console_config(tmp_path)
    async with bot_process(config, tmp_path / "bot.log", stdin=asyncio.subprocess.PIPE) as bot:
        assert bot.process.stdin is not None
        await bot.running()
        presses = 0
        deadline = asyncio.get_running_loop().time() + GRACE
        while bot.process.returncode is None and asyncio.get_running_loop().time() < deadline:
            with contextlib.suppress(ProcessLookupError):
                # os.kill, not send_signal: Popen.send_signal polls first and could reap the child
                # under asyncio's watcher, which then reports an exit status of 255.
                os.kill(bot.process.pid, signal.SIGINT)
                presses += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(bot.process.wait(), 0.01)
        assert presses >= 2
        assert await exit_status(bot, 0.1) == 0
        assert "digestbot stopped" in bot.stderr() and clean(bot.stderr())
        bot.process.stdin.close()


async def test_ctrl_d_in_a_terminal_stops_the_bot(tmp_path: Path) -> None:
    terminal, tty = os.openpty()
    try:
        async with bot_process(console_config(tmp_path), tmp_path / "bot.log", stdin=tty) as bot:
            os.close(tty)
            tty = -1
            await bot.running()
            os.write(terminal, b"/help\n")
            await wait_for(lambda: CTRL_D_HELP in bot.stderr(), message="/help mentioning Ctrl-D")
            os.write(terminal, b"\x04")  # what the terminal sends for Ctrl-D at the start of a line
            assert await exit_status(bot, GRACE) == 0
            output = bot.stderr()
            assert "console closed (Ctrl-D): stopping" in output and "digestbot stopped" in output
            assert clean(output)
    finally:
        os.close(terminal)
        if tty >= 0:
            os.close(tty)


async def test_piped_input_with_a_10_mb_line_then_eof_keeps_running(tmp_path: Path) -> None:
    """One refusal for the huge line, the next command still answered, and like a service the
    bot keeps delivering after the pipe ends."""
    async with bot_process(
        console_config(tmp_path), tmp_path / "bot.log", stdin=asyncio.subprocess.PIPE
    ) as bot:
        stdin = bot.process.stdin
        assert stdin is not None
        await bot.running()
        stdin.write(b"/subscribe robotics ")
        for _ in range(160):
            stdin.write(b"x" * 65536)
            await stdin.drain()
        stdin.write(b"\n/help\n")
        await stdin.drain()
        stdin.close()
        await wait_for(lambda: "console input closed" in bot.stderr(), message="the end of the piped input")
        output = bot.stderr()
        assert output.count(REFUSED) == 1 and HELP in output and "Subscribed" not in output
        await asyncio.sleep(0.3)
        assert bot.process.returncode is None
        assert await bot.terminate(timeout=GRACE) == 0
