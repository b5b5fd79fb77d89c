"""The command line as a user runs it, in two ways with one result shape (exit code, stdout, stderr).

`run_cli` calls `bot.cli.main` in the test's own process, with the arguments, working folder,
environment and stdin the user would give, so a test costs milliseconds instead of a Python start
(2-3 s each on a loaded CI machine). `run_cli_process` runs `python -m bot` as a real process, for
what only a process proves: the entry point itself, the exit status the shell sees, a lock held
by another process. The user's data and config folders point into the test's own folder (`home`),
so a test of the packaged defaults never touches the real ones.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from app_helpers import ROOT

from bot.cli import main


@dataclass(frozen=True)
class CliResult:
    """What the shell would see: the exit status and both streams, as text."""

    returncode: int
    stdout: str
    stderr: str


def cli_environment(home: Path | None = None, env: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment as the command should see it: this checkout's code, no config
    chosen by the caller's shell, the user folders under `home`, and `env` on top."""
    environment = dict(os.environ, **(env or {}))
    environment.pop("DIGESTBOT_CONFIG", None)
    paths = (str(ROOT), environment.get("PYTHONPATH", ""))
    environment["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
    if home is not None:
        environment.update(XDG_DATA_HOME=str(home / "data"), XDG_CONFIG_HOME=str(home / "config"))
    return environment


@contextlib.contextmanager
def _as_user(cwd: Path, environment: dict[str, str]) -> Iterator[None]:
    """The working folder and environment of the command for the time of the call, then back."""
    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    os.environ.clear()
    os.environ.update(environment)
    os.chdir(cwd)
    try:
        yield
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)


def run_cli(
    *args: str,
    cwd: Path = ROOT,
    home: Path | None = None,
    stdin: str | None = None,
    env: dict[str, str] | None = None,
) -> CliResult:
    """`digestbot ARGS` through `bot.cli.main` in this process; argparse's exits are exit codes."""
    out, err = io.StringIO(), io.StringIO()
    source = io.TextIOWrapper(io.BytesIO((stdin or "").encode("utf-8")), encoding="utf-8")
    with (
        _as_user(cwd, cli_environment(home, env)),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
        _stdin(source),
    ):
        try:
            code = main(list(args))
        except SystemExit as exc:  # --help, --version and usage errors leave through argparse
            code = exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
    return CliResult(code, out.getvalue(), err.getvalue())


@contextlib.contextmanager
def _stdin(stream: io.TextIOWrapper) -> Iterator[None]:
    saved = sys.stdin
    sys.stdin = stream
    try:
        yield
    finally:
        sys.stdin = saved


def run_cli_process(
    *args: str,
    cwd: Path = ROOT,
    home: Path | None = None,
    stdin: str | None = None,
    env: dict[str, str] | None = None,
) -> CliResult:
    """`python -m bot ARGS` as a separate process."""
    result = subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env=cli_environment(home, env),
    )
    return CliResult(result.returncode, result.stdout, result.stderr)
