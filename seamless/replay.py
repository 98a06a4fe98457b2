"""Read-only access to a store: the state as of any seq or time, as param objects or JSON.

Opens its own read-only connection, so it never blocks (or is blocked by) a running
writer.  Usable from notebooks and from ``seamless state`` / ``seamless replay``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from .params.state import PART_CLASSES, State, Values
from .persist import open_reader, restore


@dataclass
class Replayed:
    """The state of a store as of ``seq``."""

    path: str
    seq: int
    values: Values
    meta: dict[str, tuple[int, float | None]]
    warnings: list[str] = field(default_factory=list)

    def state(self) -> State:
        """The same param objects the live store has, loaded with this state."""
        st = State()
        st.load(self.values, self.meta)
        return st

    def document(self, now: float | None = None) -> dict[str, Any]:
        return document(self.values, self.meta, self.seq, now)


def replay(
    path: str | Path,
    *,
    until_seq: int | None = None,
    until_time: float | str | datetime | None = None,
    use_snapshots: bool = True,
) -> Replayed:
    """The state as of event ``until_seq`` and/or wall-clock ``until_time`` (default: now)."""
    conn = open_reader(path)
    try:
        restored = restore(conn, until_seq=until_seq, until_ts=_epoch(until_time), use_snapshots=use_snapshots)
    finally:
        conn.close()
    p = restored.projection
    return Replayed(str(path), p.seq, p.values, p.meta, restored.warnings)


def _epoch(t: float | str | datetime | None) -> float | None:
    if t is None or isinstance(t, (int, float)):
        return t
    if isinstance(t, str):
        t = datetime.fromisoformat(t)
    if t.tzinfo is None:
        t = t.astimezone()  # naive times are local, as a person types them
    return t.timestamp()


def document(
    values: Values, meta: dict[str, tuple[int, float | None]], seq: int, now: float | None = None
) -> dict[str, Any]:
    """The state as one JSON-able object: ``seq``, every part with its ``seq``,
    ``updated_at`` and ``age_s``; ``positions`` maps symbol -> position."""
    now = time.time() if now is None else now

    def age(ts: float | None) -> float | None:
        return None if ts is None else round(max(0.0, now - ts), 6)

    doc: dict[str, Any] = {"seq": seq, "as_of": now}
    for name, cls in PART_CLASSES.items():
        enc = cls.encode(values[name])
        part_seq, updated = meta[name]
        if name == "positions":
            doc[name] = {
                sym: {**p, "unrealized_pnl": _unrealized(p), "age_s": age(p["updated_at"])}
                for sym, p in enc["by_symbol"].items()
            }
        else:
            doc[name] = {**enc, "seq": part_seq, "updated_at": updated, "age_s": age(updated)}
    doc["updated_at"] = {name: meta[name][1] for name in PART_CLASSES}
    doc["age_s"] = {name: age(meta[name][1]) for name in PART_CLASSES}
    return doc


def _unrealized(p: dict[str, Any]) -> float:
    return 0.0 if p["mark"] is None else p["qty"] * (p["mark"] - p["avg_price"])
