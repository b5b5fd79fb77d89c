"""Start-up objects are frozen out of the garbage collector's passes; later ones are not."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from bot.core.heap import YOUNG_OBJECTS, settle_heap


@pytest.fixture
def restored() -> Iterator[None]:
    """The test process's collector as it was: heap unfrozen and thresholds back afterwards."""
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


def tracked(obj: object) -> bool:
    """Whether a collection would walk `obj` (frozen objects are in no generation)."""
    return any(candidate is obj for candidate in gc.get_objects())


@pytest.mark.usefixtures("restored")
def test_objects_alive_at_start_up_leave_the_collectors_sight() -> None:
    startup = [object()]
    assert tracked(startup)
    frozen = settle_heap()
    assert frozen == gc.get_freeze_count() > 0
    assert not tracked(startup)
    later = [object()]
    assert tracked(later)
    assert settle_heap() > frozen  # again: only the objects made since are added


@pytest.mark.usefixtures("restored")
def test_young_collections_are_spaced_out_and_the_older_ones_kept() -> None:
    _, middle, old = gc.get_threshold()
    settle_heap()
    assert gc.get_threshold() == (YOUNG_OBJECTS, middle, old)
