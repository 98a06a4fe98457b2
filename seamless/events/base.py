"""The event: typed, immutable, versioned, validated at construction.

An event class declares its topic, schema version and whether it is critical
(durable before ``Store.commit`` returns).  The store stamps ``seq`` and ``ts``
exactly once, when it journals the event; after that nothing can change it.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import math
import re
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, dataclass_transform

from ..errors import InvalidEvent

SYMBOL_PATTERN = re.compile(r"[A-Z0-9][A-Z0-9._\-/:]{0,31}\Z")  # \Z: "$" would let a final newline through

E = TypeVar("E", bound="Event")
#: a journaled payload, as its JSON object.
Payload = dict[str, Any]
#: turns a payload of one version into the payload of the next; see :func:`upcaster`.
Upcaster = Callable[[Payload], Payload]
#: a validation helper such as :func:`positive`: ``check(event, field name, value)``.
Check = Callable[["Event", str, Any], None]


class _Decoding(threading.local):
    #: the checksummed payload text of the event being rebuilt on this thread, else None.
    payload: str | None = None


_decoding = _Decoding()

#: The payload encoder: ``json.JSONEncoder(separators=(",", ":"), allow_nan=False).encode``,
#: whose bytes the journal's checksums and the replay tests hold. ``encode`` builds a new C
#: encoder per call; this one is built once, with the same arguments (no circular check:
#: payload values are flat, and a cyclic one fails as RecursionError instead).
_JSON = json.JSONEncoder(separators=(",", ":"), allow_nan=False)
_c_encoder = getattr(json.encoder, "c_make_encoder", None)
_iterencode = (
    _c_encoder(None, _JSON.default, json.encoder.encode_basestring_ascii, None, ":", ",", False, False, False)
    if _c_encoder is not None
    else None  # a Python built without the C accelerator
)


def encode_json(payload: Payload) -> str:
    """A payload's journaled text: compact JSON, NaN refused."""
    if _iterencode is None:
        return _JSON.encode(payload)
    return "".join(_iterencode(payload, 0))


_INF = math.inf

#: type name -> event class, filled by :func:`event`.
REGISTRY: dict[str, type[Event]] = {}
#: topic -> event class.
TOPICS: dict[str, type[Event]] = {}
#: (type name, from version) -> payload dict -> payload dict of version + 1; see :func:`upcaster`.
UPCASTERS: dict[tuple[str, int], Upcaster] = {}


@dataclasses.dataclass(frozen=True, kw_only=True)
class Event:
    """Base of every event. Subclasses are made with the :func:`event` decorator."""

    topic: ClassVar[str] = ""
    version: ClassVar[int] = 1
    critical: ClassVar[bool] = True
    #: payload field names (the subclass's own fields), set by :func:`event`.
    payload_fields: ClassVar[tuple[str, ...]] = ()

    #: exchange time (epoch seconds) where the event has one.
    exchange_ts: float | None = None
    #: wall-clock time (epoch seconds); stamped by the store at commit when None.
    ts: float | None = None
    #: global sequence number; stamped by the store when journaled.
    seq: int | None = None

    if TYPE_CHECKING:
        # Set once in __post_init__ with object.__setattr__; not a dataclass field.
        @property
        def _payload_json(self) -> str: ...

    def __post_init__(self) -> None:
        journaled = _decoding.payload
        if journaled is not None:  # rebuilt from a checksummed row: validated when committed
            self.__dict__["_payload_json"] = journaled
            return
        xts = self.exchange_ts
        if xts is not None and not (type(xts) is float and -_INF < xts < _INF):  # the usual case, inline
            finite(self, "exchange_ts", xts)
        self.validate()
        # Encoded once, here: an event that cannot be journaled is refused before it is applied.
        try:
            self.__dict__["_payload_json"] = self._encode_payload()
        except (TypeError, ValueError, RecursionError) as e:
            raise InvalidEvent(f"{type(self).__name__}: payload cannot be journaled as JSON: {e}") from e

    def validate(self) -> None:
        """Raise :class:`InvalidEvent` when a field is out of range. Override per event."""

    @property
    def type(self) -> str:
        return type(self).__name__

    def payload(self) -> dict[str, Any]:
        d = self.__dict__  # fields live there (no slots); getattr per field costs twice as much
        return {f: d[f] for f in self.payload_fields}

    def _encode_payload(self) -> str:
        """The payload's journaled text, :func:`encode_json` of :meth:`payload`. An event class
        may write it directly, byte for byte the same (``tests/events/test_encoding.py``)."""
        return encode_json(self.payload())

    def payload_json(self) -> str:
        return self._payload_json

    def _stamp(self, seq: int, ts: float) -> None:
        # The store's one-time stamp; frozen for everyone else (fields live in __dict__: no slots).
        d = self.__dict__
        d["seq"] = seq
        if d["ts"] is None:
            d["ts"] = ts
            d["_ts_stamped"] = True

    def _unstamp(self) -> None:
        # Undo _stamp for an event that was not journaled (its write failed).
        object.__setattr__(self, "seq", None)
        if self.__dict__.pop("_ts_stamped", False):
            object.__setattr__(self, "ts", None)


@dataclass_transform(frozen_default=True)
def event(topic: str, *, critical: bool = True, version: int = 1) -> Callable[[type[E]], type[E]]:
    """Class decorator: make ``cls`` a frozen event dataclass with this topic and register it."""

    def wrap(cls: type[E]) -> type[E]:
        cls.topic = topic
        cls.critical = critical
        cls.version = version
        dc = dataclasses.dataclass(frozen=True)(cls)
        dc.__init__ = _fast_init(dc)  # type: ignore[method-assign]
        base_fields = {f.name for f in dataclasses.fields(Event)}
        dc.payload_fields = tuple(f.name for f in dataclasses.fields(dc) if f.name not in base_fields)
        if dc.__name__ in REGISTRY or topic in TOPICS:
            raise TypeError(f"event {dc.__name__} / topic {topic!r} registered twice")
        REGISTRY[dc.__name__] = dc
        TOPICS[topic] = dc
        return dc

    return wrap


def _fast_init(cls: type[E]) -> Callable[..., None]:
    """``cls``'s dataclass ``__init__``, with the same signature and defaults, storing the fields
    into ``__dict__`` in one step rather than an ``object.__setattr__`` each (frozen: ~0.6 µs of
    a quote's 2), then ``__post_init__`` as the dataclass's does. A field with a default factory
    keeps the dataclass's own ``__init__``."""
    fields = dataclasses.fields(cls)
    if any(f.default_factory is not dataclasses.MISSING for f in fields):
        return cls.__init__
    params = list(inspect.signature(cls.__init__).parameters.values())[1:]
    if sorted(p.name for p in params) != sorted(f.name for f in fields):
        return cls.__init__
    defaults: list[Any] = []
    args: list[str] = []
    star = False
    for p in params:
        if p.kind is inspect.Parameter.KEYWORD_ONLY and not star:
            args.append("*")
            star = True
        if p.default is inspect.Parameter.empty:
            args.append(p.name)
        else:
            args.append(f"{p.name}=_defaults[{len(defaults)}]")
            defaults.append(p.default)
    names = [f.name for f in fields]  # the dataclass's order: its __dict__ and repr keep it
    src = (
        f"def __init__(self, {', '.join(args)}):\n"
        f"    self.__dict__.update({', '.join(f'{n}={n}' for n in names)})\n"
        "    self.__post_init__()\n"
    )
    namespace: dict[str, Any] = {"_defaults": defaults}
    exec(src, namespace)  # noqa: S102  # the source is built above from the class's own field names
    init: Callable[..., None] = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    return init


def upcaster(type_name: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
    """Decorator: ``fn(payload dict) -> payload dict`` turns a journaled ``type_name`` event of
    ``from_version`` into one of ``from_version + 1``.  Old rows are never rewritten (the
    journal is append-only): they are upcast, one version at a time, each time they are read."""

    def wrap(fn: Upcaster) -> Upcaster:
        if (type_name, from_version) in UPCASTERS:
            raise TypeError(f"upcaster {type_name} v{from_version} registered twice")
        UPCASTERS[(type_name, from_version)] = fn
        return fn

    return wrap


def upcast(type_name: str, version: int, payload: Payload, target: int) -> Payload:
    """``payload`` of ``version`` upcast to ``target``, one version at a time."""
    while version < target:
        fn = UPCASTERS.get((type_name, version))
        if fn is None:
            raise InvalidEvent(f"{type_name} version {version} has no upcaster to version {version + 1}")
        payload = fn(dict(payload))
        version += 1
    return payload


def decode(
    type_name: str,
    version: int,
    payload: str | Payload,
    *,
    seq: int | None = None,
    ts: float | None = None,
    exchange_ts: float | None = None,
) -> Event:
    """Rebuild an event from its journaled form (an older version is upcast, then validated)."""
    cls = REGISTRY.get(type_name)
    if cls is None:
        raise InvalidEvent(f"unknown event type {type_name!r}")
    if version > cls.version:
        raise InvalidEvent(f"{type_name} version {version} is newer than the current version {cls.version}")
    if version < cls.version:
        data = upcast(type_name, version, json.loads(payload) if isinstance(payload, str) else payload, cls.version)
        # Validated like a new event: an upcaster must produce a valid current payload.
        return cls(**data, seq=seq, ts=ts, exchange_ts=exchange_ts)
    text = payload if isinstance(payload, str) else encode_json(payload)
    _decoding.payload = text
    try:
        return cls(**json.loads(text), seq=seq, ts=ts, exchange_ts=exchange_ts)
    finally:
        _decoding.payload = None


# -- validation helpers: each raises InvalidEvent naming the event and field ---------------


def _fail(ev: Event, name: str, value: Any, why: str) -> None:
    raise InvalidEvent(f"{type(ev).__name__}.{name}={value!r}: {why}")


def finite(ev: Event, name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        _fail(ev, name, value, "must be a finite number")


def positive(ev: Event, name: str, value: Any) -> None:
    finite(ev, name, value)
    if value <= 0:
        _fail(ev, name, value, "must be > 0")


def non_negative(ev: Event, name: str, value: Any) -> None:
    finite(ev, name, value)
    if value < 0:
        _fail(ev, name, value, "must be >= 0")


def nonzero(ev: Event, name: str, value: Any) -> None:
    finite(ev, name, value)
    if value == 0:
        _fail(ev, name, value, "must not be zero")


_KNOWN_SYMBOLS: set[str] = set()  # symbols already checked: a set lookup beats the regex per tick


def symbol(ev: Event, name: str, value: Any) -> None:
    if type(value) is str and value in _KNOWN_SYMBOLS:
        return
    if not isinstance(value, str) or not SYMBOL_PATTERN.match(value):
        _fail(ev, name, value, "must be an upper-case symbol such as 'AAPL'")
    if len(_KNOWN_SYMBOLS) < 100_000:
        _KNOWN_SYMBOLS.add(value)


def text(ev: Event, name: str, value: Any, *, empty: bool = False) -> None:
    if not isinstance(value, str) or (not empty and not value):
        _fail(ev, name, value, "must be a non-empty string" if not empty else "must be a string")


def one_of(ev: Event, name: str, value: Any, choices: tuple[object, ...]) -> None:
    if value not in choices:
        _fail(ev, name, value, f"must be one of {', '.join(map(str, choices))}")


def optional(check: Check, ev: Event, name: str, value: Any) -> None:
    if value is not None:
        check(ev, name, value)
