"""seamless.service.pauses: a live session's objects are out of Python's collections (a full
one walked 300,000 objects for 100-300 ms with ten tabs, stopping every thread); closing a
session collects the garbage at once and freezes the rest again."""

from __future__ import annotations

import gc
import weakref

from seamless.service import pauses


class Node:
    other: Node


def cycle() -> weakref.ref:
    """Two objects holding each other: only the collector frees them."""
    a, b = Node(), Node()
    a.other, b.other = b, a
    return weakref.ref(a)


def test_what_a_live_session_holds_is_left_out_of_collections_until_a_session_closes():
    try:
        gone = cycle()
        pauses.session_live()
        assert gc.get_freeze_count() > 0
        gc.collect()
        assert gone() is not None, "a frozen object was collected: the pause walked it"
        pauses.session_closed()
        assert gone() is None, "closing a session left its garbage"
        assert gc.get_freeze_count() > 0, "what the other sessions hold is not frozen again"
        still = cycle()
        gc.collect()
        assert still() is None, "garbage made since the freeze is collected as usual"
    finally:
        gc.unfreeze()


def test_while_a_session_is_live_what_lived_a_second_is_left_out_too():
    try:
        pauses.session_live()
        kept = [Node() for _ in range(100)]  # made since the session went live, still held
        collected = {id(o) for o in gc.get_objects()}  # frozen objects are left out of these
        assert all(id(k) in collected for k in kept)
        pauses.settled()
        collected = {id(o) for o in gc.get_objects()}
        assert not any(id(k) in collected for k in kept), "what lived is not frozen"
        gone = cycle()
        gc.collect()
        assert gone() is None, "garbage made since is collected as usual"
    finally:
        gc.unfreeze()
