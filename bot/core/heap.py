"""Keeping the garbage collector out of the send path's way once the bot has started.

After start-up the heap holds a few hundred thousand long-lived objects (the bot's modules, PTB,
aiohttp, pydantic models) that will never be garbage. A full collection walks them all: at a paid
broadcast's 1,000 messages/s one fell due every few seconds and stopped every send for 50-150 ms
(more than the rate limiter's burst can make up), besides tens of µs of CPU per message. Freezing
them moves them out of the collector's sight; objects made afterwards are collected as usual.
The objects of a send are nearly all freed by reference counting, so young collections are also
spaced out: every 700 net allocations (CPython's default) they walked the objects of the 64 sends
in flight again and again, ~10 µs per message; at most YOUNG_OBJECTS cyclic garbage objects wait.
"""

from __future__ import annotations

import gc

YOUNG_OBJECTS = 20_000  # net new container objects between two young collections


def settle_heap() -> int:
    """Collect what start-up left behind, freeze every object alive now and space out young
    collections; returns how many objects are frozen (again: the objects made since are added)."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_OBJECTS, middle, old)
    return gc.get_freeze_count()
