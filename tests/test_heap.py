"""Start-up objects are frozen out of the garbage collector's passes; later ones are not."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from bot.core.heap import freeze_startup_heap


@pytest.fixture
def thawed() -> Iterator[None]:
    """The test process's heap as it was: unfrozen again afterwards."""
    yield
    gc.unfreeze()


def tracked(obj: object) -> bool:
    """Whether a collection would walk `obj` (frozen objects are in no generation)."""
    return any(candidate is obj for candidate in gc.get_objects())


@pytest.mark.usefixtures("thawed")
def test_objects_alive_at_start_up_leave_the_collectors_sight() -> None:
    startup = [object()]
    assert tracked(startup)
    frozen = freeze_startup_heap()
    assert frozen == gc.get_freeze_count() > 0
    assert not tracked(startup)
    later = [object()]
    assert tracked(later)
    assert freeze_startup_heap() > frozen  # again: only the objects made since are added
