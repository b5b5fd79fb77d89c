"""A folder of digest files, polled: new and changed files come out parsed, each version once.

Polling (not inotify) because it works the same on every file system, including network mounts and
Docker volumes, and a digest folder changes a few times a day. A file is taken only once it is
complete: its size and mtime are unchanged across two consecutive polls, or its mtime is at least
`settle` seconds old (so files already there at start-up come out on the first poll). Files that
arrive by atomic rename pass the same test. The raw bytes are read once, hashed and parsed from that
same buffer, so the hash always describes exactly what was parsed. Symlinks are followed only while
they stay inside the folder; one that leads out of it is skipped with one warning.
"""

from __future__ import annotations

import asyncio
import fnmatch
import hashlib
import logging
import os
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import tzinfo
from pathlib import Path

from bot.core.errors import DigestError
from bot.core.model import Digest
from bot.core.parse import parse_digest
from bot.sources.base import Incoming, poll_forever

log = logging.getLogger(__name__)

IGNORED_NAMES = (".*", "*~", "*.tmp", "*.part", "*.swp", "#*#")
_CHUNK = 1 << 16


@dataclass(frozen=True, slots=True)
class _Observation:
    size: int
    mtime_ns: int


@dataclass(frozen=True, slots=True)
class _Taken:
    observation: _Observation
    content_hash: str


@dataclass(frozen=True, slots=True)
class _Read:
    content_hash: str
    result: Digest | DigestError


def is_ignored(relative: Path) -> bool:
    """Hidden, backup and partial-download names, in the file name or any folder on the way."""
    return any(fnmatch.fnmatchcase(part, pattern) for part in relative.parts for pattern in IGNORED_NAMES)


class DirectoryWatcher:
    """Polls one folder; `poll()` returns what is new or changed since the previous poll."""

    def __init__(
        self,
        name: str,
        path: Path,
        pattern: str = "*.md",
        poll_interval: float = 5.0,
        max_bytes: int = 1_000_000,
        default_tz: tzinfo | None = None,
        *,
        settle: float = 2.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not pattern.strip() or Path(pattern).is_absolute() or ".." in Path(pattern).parts:
            raise ValueError(f"source {name!r}: pattern {pattern!r} must be a relative glob such as '*.md'")
        if poll_interval <= 0:
            raise ValueError(f"source {name!r}: poll_interval must be positive, got {poll_interval}")
        if max_bytes <= 0:
            raise ValueError(f"source {name!r}: max_bytes must be positive, got {max_bytes}")
        self.name = name
        self.path = path
        self.pattern = pattern
        self.poll_interval = poll_interval
        self.max_bytes = max_bytes
        self.default_tz = default_tz
        self.settle = settle
        self._clock = clock
        self._observed: dict[Path, _Observation] = {}
        self._taken: dict[Path, _Taken] = {}
        self._folder_problem: str | None = None
        self._unreadable: set[Path] = set()
        self._outside: set[Path] = set()

    @property
    def next_delay(self) -> float:
        """Seconds until the next poll: always the interval (a folder has no back-off)."""
        return self.poll_interval

    async def run(self, queue: asyncio.Queue[Incoming]) -> None:
        """Poll forever (until cancelled); an unexpected error is logged and the next poll goes on."""
        await poll_forever(self, queue, asyncio.sleep, str(self.path))

    async def aclose(self) -> None:
        """Nothing to release: a folder holds no connection between polls."""

    async def poll(self) -> list[Incoming]:
        """New and changed complete files since the previous poll, sorted by path."""
        try:
            observed, outside = await asyncio.to_thread(self._scan)
        except OSError as exc:
            self._folder_failed(exc)
            return []
        for path in sorted(outside - self._outside):
            log.warning("source %s: skipping %s: it links outside the folder %s", self.name, path, self.path)
        self._outside = outside
        if self._folder_problem is not None:
            log.info("source %s: folder %s is readable again", self.name, self.path)
            self._folder_problem = None
        now_ns = int(self._clock() * 1_000_000_000)
        ready = [path for path, seen in sorted(observed.items()) if self._is_ready(path, seen, now_ns)]
        self._observed = observed
        for gone in set(self._taken) - set(observed):
            del self._taken[gone]
        self._unreadable &= set(observed)
        incoming: list[Incoming] = []
        for path in ready:
            found = await self._take(path, observed[path])
            if found is not None:
                incoming.append(found)
        return incoming

    def _is_ready(self, path: Path, seen: _Observation, now_ns: int) -> bool:
        taken = self._taken.get(path)
        if taken is not None and taken.observation == seen:
            return False
        steady = self._observed.get(path) == seen
        settled = now_ns - seen.mtime_ns >= self.settle * 1_000_000_000
        return steady or settled

    async def _take(self, path: Path, seen: _Observation) -> Incoming | None:
        try:
            read = await asyncio.to_thread(self._read, path, seen)
        except FileNotFoundError:
            return None
        except OSError as exc:
            if path not in self._unreadable:
                log.warning("source %s: cannot read %s: %s", self.name, path, exc.strerror or exc)
                self._unreadable.add(path)
            return None
        self._unreadable.discard(path)
        if read is None:
            return None
        previous = self._taken.get(path)
        self._taken[path] = _Taken(seen, read.content_hash)
        if previous is not None and previous.content_hash == read.content_hash:
            return None
        return Incoming(source=self.name, key=str(path), content_hash=read.content_hash, result=read.result)

    def _folder_failed(self, exc: OSError) -> None:
        problem = exc.strerror or str(exc)
        if problem != self._folder_problem:
            log.warning("source %s: cannot read folder %s: %s", self.name, self.path, problem)
            self._folder_problem = problem

    def _scan(self) -> tuple[dict[Path, _Observation], set[Path]]:
        """Regular files matching the pattern, and the matches skipped because a symlink takes them
        outside the folder (so nothing the operator did not put in it is read); raises OSError when
        the folder itself is unusable."""
        with os.scandir(self.path):
            pass
        root = self.path.resolve()
        observed: dict[Path, _Observation] = {}
        outside: set[Path] = set()
        for path in self.path.glob(self.pattern):
            if is_ignored(path.relative_to(self.path)):
                continue
            try:
                info = path.stat()
                inside = path.resolve().is_relative_to(root)
            except OSError:
                continue
            if not stat.S_ISREG(info.st_mode):
                continue
            if inside:
                observed[path] = _Observation(info.st_size, info.st_mtime_ns)
            else:
                outside.add(path)
        return observed, outside

    def _read(self, path: Path, seen: _Observation) -> _Read | None:
        """Hash and parse the file; None when it changed since it was observed (taken next time)."""
        with path.open("rb") as handle:
            data = handle.read(self.max_bytes + 1)
            hasher = hashlib.sha256(data)
            oversize = len(data) > self.max_bytes
            while oversize and (chunk := handle.read(_CHUNK)):
                hasher.update(chunk)
            after = os.fstat(handle.fileno())
        content_hash = hasher.hexdigest()
        if _Observation(after.st_size, after.st_mtime_ns) != seen:
            return None
        source = str(path)
        if oversize:
            return _Read(
                content_hash, DigestError(source, f"file is larger than the {self.max_bytes}-byte limit")
            )
        try:
            digest = parse_digest(data, source, default_tz=self.default_tz)
        except DigestError as exc:
            return _Read(content_hash, exc)
        except Exception as exc:
            log.exception("source %s: the parser failed on %s", self.name, source)
            return _Read(content_hash, DigestError(source, f"could not be parsed ({type(exc).__name__})"))
        return _Read(content_hash, digest)
