"""`python -m bot ...` as a user runs it: a real subprocess with its exit code, stdout and stderr.

The user's data and config folders point into the test's own folder (`home`), so a test of the
packaged defaults never touches the real ones.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from app_helpers import ROOT


def run_cli(
    *args: str,
    cwd: Path = ROOT,
    home: Path | None = None,
    stdin: str | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    environment = dict(os.environ, **(env or {}))
    environment.pop("DIGESTBOT_CONFIG", None)
    environment["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT), environment.get("PYTHONPATH", "")) if p
    )
    if home is not None:
        environment.update(XDG_DATA_HOME=str(home / "data"), XDG_CONFIG_HOME=str(home / "config"))
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env=environment,
    )
