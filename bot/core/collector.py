"""Holding off Python's cyclic garbage collector around work that makes many objects and no garbage.

The collector runs whenever allocations outnumber deallocations by a threshold, and each run walks
every young container object: work that builds a large, long-lived graph (a markdown-it token
stream, or a process start-up importing modules and building config schemas) makes it walk that
graph again and again for nothing. Garbage is only put off, by bounded work.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_pauses = 0
_was_enabled = True


@contextmanager
def paused() -> Iterator[None]:
    """The collector off while the body runs, then as it was.

    Pauses may overlap (parses run in several worker threads at once), so they are counted: the first
    one in turns the collector off and the last one out restores what it found (a collector that was
    already off stays off).
    """
    global _pauses, _was_enabled
    with _lock:
        if _pauses == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _lock:
            _pauses -= 1
            if _pauses == 0 and _was_enabled:
                gc.enable()
