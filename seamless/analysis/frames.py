"""The journal and the state as pandas DataFrames, read-only.

Analysis wants tables, the store holds events and immutable records: these functions
turn one into the other without touching the store (a read-only connection, like
:func:`seamless.replay.replay`), so a notebook can look at a live account while it trades.
"""

from __future__ import annotations

import dataclasses
import fnmatch
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from ..params.records import Fill, Mismatch, Monitor, Order, Position, Quote, Signal
from ..params.state import State, Values
from ..persist import history, journal, open_reader
from ..persist.recovery import seq_at_time
from ..replay import Replayed, _epoch, replay

Time = float | str | datetime

#: Columns every events frame has, before the payload columns.
EVENT_COLUMNS = ("seq", "topic", "type", "version", "ts", "exchange_ts")
#: Record fields held as epoch seconds that frames show as UTC datetimes.
TIME_FIELDS = (
    "ts",
    "exchange_ts",
    "updated_at",
    "opened_at",
    "submitted_at",
    "since",
    "broker_since",
    "started_at",
    "completed_at",
)


def epoch(t: Time | None) -> float | None:
    """``t`` as epoch seconds: a number is one already; an ISO string or a naive datetime
    is local time (as :func:`seamless.replay.replay` reads it); an aware ``pd.Timestamp``
    (such as an events frame's ``ts``) converts to the nanosecond, so the event it was
    read from counts as at or before it."""
    if isinstance(t, pd.Timestamp) and t.tzinfo is not None:
        return t.value / 1e9
    return _epoch(t)


def at(path: str | Path, seq: int | None = None, time: Time | None = None) -> Replayed:
    """The state of the store at ``path`` as of event ``seq`` and/or wall-clock ``time``
    (the earlier of the two; default the end of the journal): the last event with
    ``seq <= seq`` and ``ts <= time``.  :func:`seamless.replay.replay`, named for how a
    notebook asks, and taking an events frame's timestamps exactly."""
    return replay(path, until_seq=seq, until_time=epoch(time))


def to_datetime(seconds: Any) -> pd.Series | pd.Timestamp:
    """Epoch seconds (None/NaN allowed) as UTC datetimes (NaT for none)."""
    return pd.to_datetime(seconds, unit="s", utc=True)


def _matcher(topics: str | Iterable[str] | None):
    if topics is None:
        return None
    patterns = (topics,) if isinstance(topics, str) else tuple(topics)
    exact = {p for p in patterns if "*" not in p and "?" not in p and "[" not in p}
    wild = [p for p in patterns if p not in exact]
    return lambda topic: topic in exact or any(fnmatch.fnmatchcase(topic, p) for p in wild)


def events_frame(
    path: str | Path,
    until_seq: int | None = None,
    until_time: Time | None = None,
    topics: str | Iterable[str] | None = None,
) -> pd.DataFrame:
    """One row per journaled event, in seq order, up to ``until_seq`` / ``until_time``.

    Columns: ``seq``, ``topic``, ``type``, ``version`` (as journaled), ``ts`` and
    ``exchange_ts`` (UTC datetimes; NaT when the event has no exchange time), then one
    column per payload field of the events present (missing where an event has no such
    field), then ``payload`` (the payload as a dict) and ``event`` (the decoded, typed
    event, older versions upcast, as the store applies it).  ``topics`` keeps only events
    whose topic is one of them; ``"order.*"`` style wildcards work as on the bus.

    Each row's checksum is verified, and a missing row raises ``CorruptJournal``, as when
    the store opens: an analysis never reads a damaged journal silently.
    """
    keep = _matcher(topics)
    conn = open_reader(path)
    try:
        until = until_seq
        if until_time is not None:
            seq_at = seq_at_time(conn, epoch(until_time) or 0.0)
            until = seq_at if until is None else min(until, seq_at)
        records: list[dict[str, Any]] = []
        for row in history.rows(conn, until=until):  # archived events included
            if keep is not None and not keep(row[1]):
                continue
            ev = journal.decode_row(row)
            payload = ev.payload()
            records.append(
                {
                    "seq": ev.seq,
                    "topic": ev.topic,
                    "type": ev.type,
                    "version": row[3],
                    "ts": ev.ts,
                    "exchange_ts": ev.exchange_ts,
                    **payload,
                    "payload": payload,
                    "event": ev,
                }
            )
    finally:
        conn.close()
    if not records:
        return pd.DataFrame(
            {
                c: pd.Series(dtype=t)
                for c, t in zip(
                    EVENT_COLUMNS + ("payload", "event"),
                    (
                        "int64",
                        "object",
                        "object",
                        "int64",
                        "datetime64[ns, UTC]",
                        "datetime64[ns, UTC]",
                        "object",
                        "object",
                    ),
                )
            }
        )
    df = pd.DataFrame.from_records(records)
    df["ts"] = to_datetime(df["ts"].astype("float64"))
    df["exchange_ts"] = to_datetime(df["exchange_ts"].astype("float64"))
    # payload and event last, whatever order the payload fields came in
    cols = [c for c in df.columns if c not in ("payload", "event")] + ["payload", "event"]
    return df[cols]


# -- the state as frames ---------------------------------------------------------------------


def _records_frame(
    records: Iterable[Any], cls: type, sort: str | None = "seq", extra: Mapping[str, Any] | None = None
) -> pd.DataFrame:
    """A frame of immutable records, one column per field (present even when empty)."""
    fields = [f.name for f in dataclasses.fields(cls)]
    rows = [r.to_dict() for r in records]
    df = pd.DataFrame(rows, columns=fields)
    for name, fn in (extra or {}).items():
        df[name] = [fn(r) for r in records] if rows else pd.Series(dtype="float64")
    if sort and rows:
        df = df.sort_values(sort, kind="stable").reset_index(drop=True)
    return _times(df)


def _times(df: pd.DataFrame) -> pd.DataFrame:
    for name in TIME_FIELDS:
        if name in df.columns:
            df[name] = to_datetime(pd.to_numeric(df[name], errors="coerce").astype("float64"))
    return df


def _one_row(fields: Mapping[str, Any], exclude: Iterable[str] = ()) -> pd.DataFrame:
    return _times(pd.DataFrame([{k: v for k, v in fields.items() if k not in set(exclude)}]))


def _values_of(state: Replayed | State | Values) -> Values:
    if isinstance(state, Replayed):
        return state.values
    if isinstance(state, State):
        return state.values()
    if isinstance(state, Mapping) and "positions" in state:
        return state  # type: ignore[return-value]
    raise TypeError(f"state_frames takes a Replayed, a State or state values, not {type(state).__name__}")


def state_frames(state: Replayed | State | Values) -> dict[str, pd.DataFrame]:
    """Every part of a state as DataFrames, for tables and plots.

    ``positions`` (one row per symbol, with ``unrealized_pnl``), ``orders`` (open ones and
    the most recent closed), ``fills`` (the most recent), ``quotes`` (the last quote per
    symbol), ``signals`` (the recent history, oldest first), ``monitors``, ``mismatches``
    (recent reconciliation findings with their resolution), ``reconcile_runs`` (recent
    runs and the mismatches each found), and one-row frames ``account``, ``risk``,
    ``runner`` and ``reconcile``.  Columns are the records' fields (present even when a
    frame is empty); times are UTC datetimes.  What the state keeps is bounded (see
    :mod:`seamless.params.state`); for the whole history use :func:`events_frame`.
    """
    v = _values_of(state)
    rec = v["reconcile"]
    runs = pd.DataFrame(
        [{"run_id": run_id, "mismatches": len(found), "found": list(found)} for run_id, found in rec["recent_runs"]],
        columns=["run_id", "mismatches", "found"],
    )
    return {
        "account": _one_row(v["account"]),
        "positions": _records_frame(
            v["positions"]["by_symbol"].values(),
            Position,
            sort="symbol",
            extra={"unrealized_pnl": lambda p: p.unrealized_pnl},
        ),
        "orders": _records_frame(v["orders"]["by_id"].values(), Order, extra={"is_open": lambda o: o.is_open}),
        "fills": _records_frame(v["orders"]["fills"], Fill),
        "quotes": _records_frame(v["market"]["quotes"].values(), Quote, sort="symbol"),
        "signals": _records_frame(v["signals"]["history"], Signal),
        "monitors": _records_frame(v["monitors"]["by_id"].values(), Monitor),
        "mismatches": _records_frame(rec["mismatches"], Mismatch),
        "reconcile_runs": runs,
        "risk": _one_row(v["risk"], exclude=("breach",)).assign(breach=[v["risk"]["breach"]]),
        "runner": _one_row(v["runner"]),
        "reconcile": _one_row(rec, exclude=("mismatches", "recent_runs", "last_result")).assign(
            last_result=[rec["last_result"]]
        ),
    }
