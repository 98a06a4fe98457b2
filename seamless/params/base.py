"""StateObject: a param.Parameterized whose parameters only the store may set."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import param

from ..errors import ReadOnlyState

if TYPE_CHECKING:
    from .records import Record

_writer = threading.local()


@contextlib.contextmanager
def _write_access(active: bool) -> Iterator[None]:
    prev = getattr(_writer, "active", False)
    _writer.active = active
    try:
        yield
    finally:
        _writer.active = prev


def store_writes() -> contextlib.AbstractContextManager[None]:
    """Let the current thread set state parameters (the store's apply step only)."""
    return _write_access(True)


def subscriber_calls() -> contextlib.AbstractContextManager[None]:
    """Subscribers run inside the store's apply step but must not write state."""
    return _write_access(False)


class Codec:
    """How a parameter's value goes to JSON and back (plain values pass through)."""

    def __init__(self, encode: Callable[[Any], Any], decode: Callable[[Any], Any]) -> None:
        self.encode, self.decode = encode, decode


def map_of(record: type[Record]) -> Codec:
    return Codec(
        lambda m: {k: v.to_dict() for k, v in m.items()}, lambda d: {k: record.from_dict(v) for k, v in d.items()}
    )


def tuple_of(record: type[Record]) -> Codec:
    return Codec(lambda t: [v.to_dict() for v in t], lambda items: tuple(record.from_dict(v) for v in items))


#: encoded part values (JSON dict) -> those of the next version; see :func:`part_upcaster`.
PartUpcaster = Callable[[dict[str, Any]], dict[str, Any]]
#: (part name, from version) -> its upcaster.
PART_UPCASTERS: dict[tuple[str, int], PartUpcaster] = {}


def part_upcaster(part: str, from_version: int) -> Callable[[PartUpcaster], PartUpcaster]:
    """Decorator: ``fn(encoded values) -> encoded values`` turns a snapshot's ``part`` of
    ``from_version`` into ``from_version + 1`` (snapshots are upcast on load, one version
    at a time; the store then writes a fresh snapshot at the current versions)."""

    def wrap(fn: PartUpcaster) -> PartUpcaster:
        if (part, from_version) in PART_UPCASTERS:
            raise TypeError(f"part upcaster {part} v{from_version} registered twice")
        PART_UPCASTERS[(part, from_version)] = fn
        return fn

    return wrap


class StateObject(param.Parameterized):
    """One part of the account state: a projection of the journal.

    Its parameters are read-only to everybody but the store's apply step; each
    part also knows the ``seq`` and ``updated_at`` of the last event that changed it.
    """

    #: schema version of this part, stored in every snapshot.
    schema_version: ClassVar[int] = 1
    #: name of this part in the state (``positions``, ``account``...).
    part: ClassVar[str] = ""
    #: parameter name -> Codec, for parameters that hold records.
    codecs: ClassVar[dict[str, Codec]] = {}
    #: the state parameters (all but ``name``); set by :func:`state_part`.
    _fields: ClassVar[tuple[str, ...]] = ()
    #: seq of the last event that changed this part (0: none yet); set by the store.
    seq: int
    #: ts of the last event that changed this part (None: none yet); set by the store.
    updated_at: float | None

    def __init__(self, **params: Any) -> None:
        with store_writes():
            super().__init__(**params)  # type: ignore[no-untyped-call]  # param leaves it unannotated
        object.__setattr__(self, "seq", 0)
        object.__setattr__(self, "updated_at", None)

    def __setattr__(self, name: str, value: Any) -> None:
        if (name in self._fields or name in ("seq", "updated_at")) and not getattr(_writer, "active", False):
            raise ReadOnlyState(
                f"{type(self).__name__}.{name} is store-owned state and cannot be assigned; "
                f"commit an event through the Store instead"
            )
        super().__setattr__(name, value)

    @classmethod
    def initial(cls) -> dict[str, Any]:
        """The values of a fresh part (parameter defaults)."""
        return {n: cls.param[n].default for n in cls._fields}

    def values(self) -> dict[str, Any]:
        return {n: getattr(self, n) for n in self._fields}

    @classmethod
    def encode(cls, values: dict[str, Any]) -> dict[str, Any]:
        return {n: (cls.codecs[n].encode(v) if n in cls.codecs else v) for n, v in values.items()}

    @classmethod
    def upcast(cls, data: dict[str, Any], version: int) -> dict[str, Any]:
        """Encoded values of ``version`` upcast to :attr:`schema_version`, one version at a time."""
        if version > cls.schema_version:
            raise ValueError(f"part {cls.part} version {version} is newer than {cls.schema_version}")
        while version < cls.schema_version:
            fn = PART_UPCASTERS.get((cls.part, version))
            if fn is None:
                raise ValueError(f"part {cls.part} version {version} has no upcaster to {version + 1}")
            data = fn(dict(data))
            version += 1
        return data

    @classmethod
    def decode(cls, data: dict[str, Any]) -> dict[str, Any]:
        out = cls.initial()
        for n, v in data.items():
            if n in out:
                out[n] = cls.codecs[n].decode(v) if n in cls.codecs else v
        return out


S = TypeVar("S", bound=StateObject)


def state_part(cls: type[S]) -> type[S]:
    """Class decorator for a part: records its parameter names (param sets them up after
    ``__init_subclass__`` runs, so this cannot happen there)."""
    cls._fields = tuple(n for n in cls.param if n != "name")
    return cls
