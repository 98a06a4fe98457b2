"""How figures read to a person: money, prices at their tick, times with their zone, ages.

One place for the dashboard and the command line's human output (``seamless state``), so a
price reads the same in both. Machine output (``--json``, the journal) keeps raw numbers.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

EXCHANGE_ZONE = ZoneInfo("America/New_York")  # the trading day's zone (see seamless.engine.risk)
EXCHANGE_LABEL = "ET"
PRICE_TICK = 0.01  # US equities above $1 trade in cents
CURRENCY = "$"
DASH = "–"


def _bad(v: float | None) -> bool:
    return v is None or not math.isfinite(v)


def money(v: float | None, *, signed: bool = False) -> str:
    """``$1,234.56``; ``signed``: ``+$12.30`` / ``−$12.30`` (a P&L)."""
    if _bad(v):
        return DASH
    assert v is not None
    v = round(v, 2) + 0.0  # -0.00 reads as 0.00
    sign = "−" if v < 0 else "+" if signed and v > 0 else ""
    return f"{sign}{CURRENCY}{abs(v):,.2f}"


def decimals(tick: float = PRICE_TICK) -> int:
    """Decimals a price at ``tick`` needs: 2 for 0.01, 4 for 0.0001."""
    return max(0, -math.floor(math.log10(tick) + 1e-9)) if tick < 1 else 0


def price(v: float | None, tick: float = PRICE_TICK) -> str:
    """A price rounded to its instrument's tick: ``354.95``, not ``354.9455887928011``."""
    if _bad(v):
        return DASH
    assert v is not None
    return f"{round(v / tick) * tick:,.{decimals(tick)}f}"


def qty(v: float | None) -> str:
    """Shares: whole numbers without decimals, signed as held (``-120``)."""
    if _bad(v):
        return DASH
    assert v is not None
    return f"{v:,.0f}" if float(v).is_integer() else f"{v:,.4g}"


def pct(v: float | None, digits: int = 1) -> str:
    return DASH if _bad(v) else f"{v:.{digits}f}%"


def exchange_time(ts: float | None, *, date: bool = False, seconds: bool = True) -> str:
    """Epoch seconds in the exchange's zone, labelled: ``09:31:02 ET`` (``date``: with the day;
    not ``seconds``: ``09:31 ET``)."""
    if _bad(ts):
        return DASH
    assert ts is not None
    t = datetime.fromtimestamp(ts, EXCHANGE_ZONE)
    return t.strftime(("%Y-%m-%d " if date else "") + ("%H:%M:%S" if seconds else "%H:%M")) + f" {EXCHANGE_LABEL}"


def iso(ts: float | None) -> str:
    """Epoch seconds as an ISO 8601 instant in UTC (``2026-12-07T14:31:02.250+00:00``), for a
    page to show in the zone its viewer chose (the dashboard's tables); ``–`` for none."""
    if _bad(ts):
        return DASH
    assert ts is not None
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds")


def zone_label(zone: str | None) -> str:
    """A zone's short name as of now (``CET``, ``ET`` for the exchange's); ``zone``: an IANA
    name (None or unknown: the exchange's)."""
    try:
        tz = ZoneInfo(zone) if zone else EXCHANGE_ZONE
    except (KeyError, ValueError):
        tz = EXCHANGE_ZONE
    if tz == EXCHANGE_ZONE:
        return EXCHANGE_LABEL
    return datetime.now(tz).tzname() or str(zone)


def local_time(ts: float | None, zone: str | None = None, *, date: bool = False, seconds: bool = True) -> str:
    """Epoch seconds in ``zone`` (an IANA name, e.g. the viewer's; None: this machine's),
    labelled with the zone's abbreviation: ``15:31:02 CET`` (not ``seconds``: ``15:31 CET``)."""
    if _bad(ts):
        return DASH
    assert ts is not None
    try:
        tz = ZoneInfo(zone) if zone else None
    except (KeyError, ValueError):  # an unknown zone name from a browser: this machine's
        tz = None
    t = datetime.fromtimestamp(ts, tz).astimezone(tz)
    return t.strftime(("%Y-%m-%d " if date else "") + ("%H:%M:%S %Z" if seconds else "%H:%M %Z"))


def age(seconds: float | None) -> str:
    """A relative age: ``just now``, ``12 s ago``, ``4 min ago``, ``2.5 h ago``, ``3 d ago``."""
    if _bad(seconds):
        return "never"
    assert seconds is not None
    s = max(0.0, seconds)
    if s < 1:
        return "just now"
    if s < 120:
        return f"{s:.0f} s ago"
    if s < 7200:
        return f"{s / 60:.0f} min ago"
    if s < 172800:
        return f"{s / 3600:.1f} h ago"
    return f"{s / 86400:.0f} d ago"


def duration(seconds: float | None) -> str:
    """A span: ``45 s``, ``12 min``, ``3.2 h``."""
    return age(seconds).removesuffix(" ago") if not _bad(seconds) else DASH
