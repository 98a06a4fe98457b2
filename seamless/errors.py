"""Every error Seamless raises on purpose, so callers can catch them by kind."""

from __future__ import annotations


class SeamlessError(Exception):
    """Base of every error Seamless raises on purpose."""


class InvalidEvent(SeamlessError, ValueError):
    """An event failed validation (bad field, NaN price, negative quantity...).

    Raised before anything is journaled or applied: nothing changes.
    """


class ReadOnlyState(SeamlessError, AttributeError):
    """Someone assigned a state parameter directly instead of committing an event."""


class StoreError(SeamlessError):
    """The store could not do what was asked; nothing acknowledged was lost."""


class StoreClosed(StoreError):
    """The store was closed (or never opened)."""


class StoreLocked(StoreError):
    """Another process held the database past the busy timeout."""


class StoreFull(StoreError):
    """The disk (or the database's page limit) is full; the event was not journaled."""


class StoreWriteFailed(StoreError):
    """Writing the journal failed; the event was not journaled."""


class StoreInUse(StoreError):
    """Another writer already owns this store."""


class CorruptJournal(StoreError):
    """A journal row failed its checksum or could not be decoded."""

    def __init__(self, seq: int, reason: str) -> None:
        super().__init__(f"journal row seq={seq} is corrupt: {reason}")
        self.seq = seq


class CorruptArchive(StoreError):
    """An archive file is missing, unreadable, or does not hold what the store recorded of it."""

    def __init__(self, file: str, reason: str) -> None:
        super().__init__(f"archive {file} {reason}")
        self.file = file


class CorruptSnapshot(StoreError):
    """A snapshot failed its checksum; older snapshots or a longer replay are used instead."""


class NewerStoreVersion(StoreError):
    """The database was written by a newer Seamless; it is left untouched."""


class MigrationFailed(StoreError):
    """A migration step failed: the store was rolled back and is byte-identical to before."""


class MigrationRegistryError(SeamlessError):
    """The registry of migration steps has a gap, a duplicate or a step past the current version."""


class MigrationNeeded(StoreError):
    """An older store that cannot be read before it is migrated (``seamless migrate``)."""


class MirrorError(SeamlessError):
    """The PostgreSQL mirror cannot go on: another mirror holds the database, or what is there
    is not this store's journal."""
