"""`digestbot backup`: a consistent copy of a live database with SQLite's online backup API.

The copy is one read transaction on the source, so in WAL mode the running bot keeps writing
meanwhile and the copy is the database as of one instant (never a torn mix of two). It is written
to a temporary file beside the target, checked, and only then given the target's name, so an
interrupted backup never leaves a half file under that name.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from pathlib import Path

from bot.store.errors import StoreError

BUSY_TIMEOUT_S = 10.0


def backup_database(source: Path, target: Path, *, force: bool = False) -> int:
    """Copy `source` to `target` (refused if it exists, unless `force`); returns its size in bytes."""
    if not source.is_file():
        raise StoreError(f"{source}: no database there")
    if target.exists() and not force:
        raise StoreError(f"{target}: already exists (use --force to replace it)")
    if target.is_dir():
        raise StoreError(f"{target}: is a folder; give a file name")
    try:
        fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    except OSError as exc:
        raise StoreError(f"{target}: cannot write there: {exc.strerror}") from exc
    os.close(fd)
    try:
        _copy(source, Path(temporary))
        if force:
            os.replace(temporary, target)
        else:  # a link, unlike a rename, refuses a target that appeared meanwhile
            try:
                os.link(temporary, target)
            except FileExistsError:
                raise StoreError(f"{target}: already exists (use --force to replace it)") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
    return target.stat().st_size


def _copy(source: Path, temporary: Path) -> None:
    try:
        # Read-only: a backup must never change the live file (nor create one at a mistyped path).
        with (
            contextlib.closing(
                sqlite3.connect(f"{source.absolute().as_uri()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S)
            ) as live,
            contextlib.closing(sqlite3.connect(temporary)) as copy,
        ):
            live.backup(copy)
            copy.execute("PRAGMA journal_mode = DELETE")  # one self-contained file, no -wal beside it
            problems = [row[0] for row in copy.execute("PRAGMA quick_check(3)")]
            if problems != ["ok"]:
                raise StoreError(f"{source}: the copy is damaged ({'; '.join(problems)}): the source is too")
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{source}: cannot back up: {exc}") from exc
