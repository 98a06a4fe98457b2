"""The scrubber: re-verifies the whole history in the background, a little at a time.

Every archive file against its checksum, then every row from seq 1 against its own checksum
and the hash chain (:func:`seamless.persist.history.verify`), on a read-only connection of its
own (it never blocks the writer), reading at most ``kb_per_s`` a second, in short chunks so
that no read holds the WAL back. Where it got to is kept in the store (table ``scrub``): a
restart resumes the pass. A pass that finds something wrong journals
:class:`~seamless.events.HistoryCorrupt` (once per finding): the store's health reports it,
every open tab shows it, and, by the policy ``halt``, trading is HALTED.
"""

from __future__ import annotations

import logging
import time

from ..errors import CorruptJournal, StoreClosed, StoreError
from ..events import Event, HistoryCorrupt, TradingState, TradingStateChanged
from ..persist import history, schema
from ..persist.history import Finding, Progress
from .background import Background
from .store import Store

log = logging.getLogger("seamless.store")

SAVE = (
    "INSERT INTO scrub (id, seq, head, files_checked, passes, pass_started_at, last_pass_at, finding) "
    "VALUES (1, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, head = excluded.head, "
    "files_checked = excluded.files_checked, passes = excluded.passes, pass_started_at = excluded.pass_started_at, "
    "last_pass_at = excluded.last_pass_at, finding = excluded.finding"
)


class Scrubber(Background):
    """Verifies ``store``'s history over and over at ``kb_per_s``; ``rest_s`` between passes."""

    name = "scrubber"
    CHUNK = 5_000  # rows per read transaction: short, so that the WAL is never held back for long
    SAVE_EVERY_S = 5.0

    def __init__(self, store: Store, kb_per_s: float, *, halt: bool = True, rest_s: float = 600.0) -> None:
        super().__init__(store)
        self.kb_per_s = kb_per_s
        self.halt = halt
        self.rest_s = rest_s
        self.passes = 0
        self.last_pass_at: float | None = None
        self._progress, self.passes, self.last_pass_at = self._load()

    # -- a pass ----------------------------------------------------------------------------

    def run_pass(self) -> Finding | None:
        """Go on with the current pass to the end (resuming where it stopped); its finding."""
        conn = schema.open_reader(self.store.path)
        try:
            p = self._progress
            saved = time.monotonic()
            while not self._stop.is_set():
                end = min(self.store.durable_seq, p.seq + self.CHUNK)
                p, finding = history.verify(conn, progress=p, until=end, budget=self._budget)
                if finding is not None:
                    self._found(finding)
                    self._progress = Progress()  # the next pass starts over
                    self._save(self._progress, self.store.history_finding)
                    return finding
                if p.seq >= self.store.durable_seq:
                    try:  # rows cut off the end show only against what recorded how far it reached
                        history.check_end(conn)
                    except CorruptJournal as e:
                        finding = Finding(f"seq {e.seq}", str(e), seq=e.seq)
                        self._found(finding)
                        self._progress = Progress()
                        self._save(self._progress, self.store.history_finding)
                        return finding
                    break
                if time.monotonic() - saved >= self.SAVE_EVERY_S:
                    self._save(p, self.store.history_finding)
                    saved = time.monotonic()
            else:
                self._save(p, self.store.history_finding)  # stopped: resume from here
                return None
        finally:
            conn.close()
        self.passes += 1
        self.last_pass_at = time.time()
        if self.store.history_finding is not None:
            log.warning("the history of %s verifies again; clearing: %s", self.store.path, self.store.history_finding)
        self.store.history_finding = None
        self._progress = Progress()
        self._save(self._progress, None)
        return None

    def _budget(self, nbytes: int) -> None:
        """Sleep long enough that reading ``nbytes`` stays under the rate."""
        if self.kb_per_s > 0:
            self._stop.wait(nbytes / (self.kb_per_s * 1024))

    def _found(self, f: Finding) -> None:
        text = f"{f.where}: {f.reason}"
        if self.store.history_finding == text:
            return  # journaled already (this pass found what the last one did)
        log.error("the history of %s failed verification at %s", self.store.path, text)
        self.store.history_finding = text
        events: list[Event] = [HistoryCorrupt(where=f.where, reason=f.reason, halt=self.halt)]
        if self.halt:
            why = f"history failed verification at {text}"
            events.append(TradingStateChanged(state=TradingState.HALTED, reason=why, by="verifier"))
        try:
            self.store.commit_all(events)
        except StoreError as e:
            log.error("could not journal that the history of %s failed verification: %s", self.store.path, e)

    # -- progress in the store -----------------------------------------------------------------

    def _load(self) -> tuple[Progress, int, float | None]:
        conn = schema.open_reader(self.store.path)
        try:
            row = conn.execute(
                "SELECT seq, head, files_checked, passes, pass_started_at, last_pass_at FROM scrub WHERE id = 1"
            ).fetchone()
        finally:
            conn.close()
        if row is None:
            return Progress(), 0, None
        seq, head, files, passes, started, last = row
        return Progress(seq, head, files, 0, started or time.time()), passes, last

    def _save(self, p: Progress, finding: str | None) -> None:
        try:
            self.store.record(
                [(SAVE, (p.seq, p.head, p.files_checked, self.passes, p.started_at, self.last_pass_at, finding))]
            )
        except StoreClosed:
            pass
        except StoreError as e:  # not fatal: the pass resumes from an older point
            log.warning("could not save the scrubber's progress in %s: %s", self.store.path, e)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_pass()
            except StoreClosed:
                return
            except Exception:
                log.exception("the scrubber of %s failed; retrying after a rest", self.store.path)
            self._stop.wait(self.rest_s)
