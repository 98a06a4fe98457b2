"""The one configuration: the dashboard, ``seamless run`` and every CLI command read it here.

Each setting comes from its default, then its ``SEAMLESS_<NAME>`` environment variable, then
its flag ``--<name>`` (``panel serve app.py --args ...`` for the dashboard): the flag wins.
Everything is validated in :meth:`Config.load`, before anything is opened or written; an
error is one :class:`ConfigError` line naming the setting, the value and what is allowed.
"""

from __future__ import annotations

import argparse
import math
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import param

from .errors import SeamlessError
from .feeds.base import DEFAULT_SYMBOLS

#: The entry-point groups that name brokers, feeds and strategies: the built-in ones and any
#: package's (``[project.entry-points."seamless.brokers"]``), found the same way.
BROKERS, FEEDS, STRATEGIES = "seamless.brokers", "seamless.feeds", "seamless.strategies"
#: Alpaca's API keys: the environment's, under the names Alpaca's own tools read.
ALPACA_KEY_VARS = ("APCA_API_KEY_ID", "APCA_API_SECRET_KEY")


def plugin_names(group: str) -> list[str]:
    """The names registered under an entry-point ``group``, sorted."""
    from importlib.metadata import entry_points

    return sorted({ep.name for ep in entry_points(group=group)})


_SYMBOL = re.compile(r"^[A-Z][A-Z0-9.\-/]{0,15}$")


class ConfigError(SeamlessError):
    """A setting that cannot be used, named with the variable or flag that set it."""


def env_name(name: str) -> str:
    """``daily_loss_limit`` -> ``SEAMLESS_DAILY_LOSS_LIMIT``."""
    return f"SEAMLESS_{name.upper()}"


def flag_name(name: str) -> str:
    """``daily_loss_limit`` -> ``--daily-loss-limit``."""
    return f"--{name.replace('_', '-')}"


def _positive(**kw: Any) -> dict[str, Any]:
    return {"bounds": (0, None), "inclusive_bounds": (False, True), **kw}


def _fraction(**kw: Any) -> dict[str, Any]:
    return {"bounds": (0, 1), "inclusive_bounds": (False, False), "allow_None": True, **kw}


class Config(param.Parameterized):
    """Every setting of Seamless; ``SEAMLESS_<NAME>`` or ``--<name>`` sets each one."""

    #: name -> (raw value, where it came from), of the settings given; set by :meth:`load`.
    _sources: dict[str, tuple[str, str]]
    #: The environment it was loaded from: where secrets that are not settings (API keys) are read.
    _environ: Mapping[str, str] = os.environ

    #: Settings that hold secrets: from the environment only (a flag shows in ``ps``), and
    #: never repeated in a message.
    SECRETS = frozenset({"notify_urls", "stream_token"})

    db = param.String("seamless.db", doc="The store's SQLite file (created if new)")
    broker = param.String("paper", doc="The broker adapter: paper, alpaca, or one a package registers")
    broker_db = param.String("", doc="The paper broker's file (default: beside the store, .broker)")
    broker_max_notional = param.Number(
        1_000_000.0, **_positive(doc="The paper broker refuses an order worth more (|qty| x price)")
    )
    broker_price_band = param.Number(
        0.10, **_positive(doc="The paper broker refuses a limit or trade price this far from its mark (0.1 = 10%)")
    )
    broker_margin = param.Number(
        0.0, bounds=(0, None), doc="How far below zero the paper broker lets cash go (0: a cash account)"
    )
    feed = param.String("sim", doc="The feed: sim (simulated prices), replay (a file), alpaca, or a package's")
    alpaca_paper = param.Boolean(True, doc="Alpaca: the paper account (0: live trading, real money)")
    i_understand_live = param.Boolean(False, doc="Alpaca: needed with alpaca_paper=0, to trade real money")
    alpaca_data_feed: param.Selector[str] = param.Selector(
        default="iex", objects=["iex", "sip"], doc="Alpaca market data: iex (free) or sip (all US exchanges)"
    )
    alpaca_url = param.String(
        "", doc="Alpaca: one loopback serving every endpoint, such as http://127.0.0.1:8765 (default: Alpaca's)"
    )
    replay_file = param.String("", doc="CSV or Parquet OHLC file for the replay feed (default: sample stocks)")
    symbols = param.List(
        list(DEFAULT_SYMBOLS), item_type=str, doc="Symbols to trade (replay: default every symbol in the file)"
    )
    seed = param.Integer(0, doc="The simulated feed's seed")
    volatility = param.Number(0.2, **_positive(doc="The simulated feed's annualized volatility"))
    sim_ticks_per_s = param.Number(
        100.0,
        **_positive(doc="Simulated feed: ticks a second of wall time, all symbols together, at any speed"),
    )
    sim_gap_every_s = param.Number(
        None, **_positive(allow_None=True, doc="Simulated feed: a market-data gap after every this many exchange s")
    )
    sim_gap_s = param.Number(0.0, bounds=(0, None), doc="Simulated feed: each gap's length, in exchange seconds")
    retention_days = param.Number(
        3.0,
        **_positive(
            doc="Quotes, signals and trailing-stop moves of UTC days older than this many days move to "
            "Parquet archives beside the store (critical events stay in the journal)"
        ),
    )
    scrub_kb_per_s = param.Number(
        2048.0,
        bounds=(0, None),
        doc="The background verification of the whole history reads at most this many KiB a second (0: off)",
    )
    scrub_rest_s = param.Number(
        600.0, **_positive(doc="Seconds between two passes of the background verification of the history")
    )
    halt_on_corrupt_history = param.Boolean(
        True, doc="HALT trading when the history fails verification (a changed, missing or moved row or archive)"
    )
    store_max_mb = param.Number(
        None, **_positive(allow_None=True, doc="Refuse writes past this store size, as on a full disk (default: none)")
    )
    speed = param.Number(
        None,
        bounds=(0, None),
        allow_None=True,
        doc="Exchange seconds per second; 0 runs flat out (default: the feed's own: "
        "sim 1.0, sim_ticks_per_s at any speed; replay flat out)",
    )
    conflate = param.Boolean(
        False,
        doc="Fold each symbol's quotes waiting behind a newer one into it (counted, journaled as "
        "market.conflated); off: every quote is applied",
    )
    strategies = param.List(["ma_cross"], item_type=str, doc="Strategies to run: ma_cross, breakout")
    bar_seconds = param.Number(
        60.0, bounds=(0, None), doc="ma_cross: bars of this many exchange seconds (0: every tick)"
    )
    daily_loss_limit = param.Number(5_000.0, **_positive(doc="Largest daily loss allowed before trading halts"))
    max_position = param.Number(1_000.0, **_positive(doc="Largest position per symbol, in shares"))
    stop_loss_pct = param.Number(None, **_fraction(doc="Protective stop on each new position (0.02 = 2%)"))
    take_profit_pct = param.Number(None, **_fraction(doc="Take-profit on each new position"))
    trailing_pct = param.Number(None, **_fraction(doc="Trailing stop on each new position"))
    reconcile = param.Boolean(True, doc="Reconcile with the broker at start and on a schedule")
    reconcile_interval = param.Number(30.0, **_positive(doc="Seconds between scheduled reconciliations"))
    autostart = param.Boolean(True, doc="Dashboard: start the runner with the server")
    max_rate = param.Number(
        2.0,
        **_positive(
            doc="Dashboard: most updates per second per view and session"
            " (critical events pass at once; in a burst, once per 50 ms)"
        ),
    )
    stale_after = param.Number(5.0, **_positive(doc="Dashboard: seconds after which market data shows as stale"))
    duration = param.Number(
        None, **_positive(allow_None=True, doc="seamless run: seconds to run (default: until stopped)")
    )
    max_ticks = param.Integer(None, bounds=(1, None), allow_None=True, doc="seamless run: ticks to run")
    notify_urls = param.List(
        [], item_type=str, doc="Apprise URLs to notify (they hold tokens: from the environment only)"
    )
    notify_events = param.List(
        ["fills", "closes", "breach", "trading", "reconcile", "not_ready"],
        item_type=str,
        doc="What to notify: fills, closes, breach, trading, reconcile, not_ready",
    )
    notify_rate = param.Number(10.0, **_positive(doc="Most notifications a minute; more go as one summary"))
    notify_not_ready_s = param.Number(
        60.0, **_positive(doc="Notify when not ready (runner ERROR, broker down, HALTED) this many seconds")
    )
    http_port = param.Integer(
        0, bounds=(0, 65535), doc="seamless run: serve /healthz, /readyz and /metrics on this port (0: none)"
    )
    http_address = param.String(
        "127.0.0.1", doc="seamless run: the address of --http-port (default: this machine only)"
    )
    sse_buffer = param.Integer(
        10_000, bounds=(1, None), doc="/events: most events waiting for one client; past it the client is dropped"
    )
    sse_heartbeat_s = param.Number(
        15.0, **_positive(doc="/events: seconds between heartbeats (comment lines) on an idle stream")
    )
    stream_token = param.String(
        "",
        doc="/events: a bearer token (Authorization: Bearer ...) that admits a client from another machine; "
        "at least 16 characters, from the environment only (default: none, only local or logged-in clients)",
    )
    mirror_to = param.String(
        "",
        doc="PostgreSQL URL to mirror the journal to (postgresql://...; a password from PGPASSWORD or ~/.pgpass)",
    )
    source = param.String(
        "",
        doc="Dashboard: follow this PostgreSQL mirror (postgresql://...) instead of a store: a viewer on another host",
    )
    ready_max_journal_lag_s = param.Number(
        5.0, **_positive(doc="Not ready while an event has waited this many seconds to be durable")
    )
    ready_max_write_age_s = param.Number(
        30.0, **_positive(doc="Not ready when events wait and no write has reached the disk for this many seconds")
    )
    ready_max_snapshot_age_s = param.Number(
        900.0, **_positive(doc="Not ready when the last snapshot is this many seconds old and events came since")
    )
    ready_feed_stale_s = param.Number(10.0, **_positive(doc="Not ready when the last quote is this many seconds old"))
    ready_mirror_stale_s = param.Number(
        10.0,
        **_positive(
            doc="Viewer: not ready when the newest mirrored row is this many seconds old while the runner runs"
        ),
    )
    ready_min_disk_free_mb = param.Number(
        1024.0, bounds=(0, None), doc="Not ready below this much free disk in the store's folder, in MB (MiB)"
    )
    debug = param.Boolean(False, doc="Show tracebacks with errors")

    @classmethod
    def names(cls) -> list[str]:
        """Every setting's name."""
        return [n for n in cls.param if n != "name"]

    @classmethod
    def load(
        cls,
        environ: Mapping[str, str] | None = None,
        argv: Sequence[str] = (),
        *,
        flags: Mapping[str, str] | None = None,
    ) -> Config:
        """Defaults, then ``SEAMLESS_*`` variables, then flags; a bad value is a ConfigError.

        ``argv``: ``--name value`` pairs (the dashboard's ``--args``); ``flags``: raw values by
        setting name, already parsed (the CLI's).
        """
        environ = os.environ if environ is None else environ
        raw: dict[str, tuple[str, str]] = {}  # name -> (raw value, where it came from), for messages
        values: dict[str, Any] = {}
        # Each variable is checked even when a flag overrides it: a bad one is a mistake to fix.
        given = [(n, environ.get(env_name(n)), env_name(n)) for n in cls.names()]
        given += [(n, v, flag_name(n)) for n, v in {**_parse_argv(cls.names(), argv), **(flags or {})}.items()]
        for name, value, source in given:
            if value is not None and name in cls.SECRETS and source != env_name(name):
                raise ConfigError(
                    f"{source}: holds secrets, so it is read from the environment only: set {env_name(name)}"
                )
            if value is not None:
                values[name] = cls._parse(name, value, source)
                raw[name] = (value, source)
        config = cls()
        with param.parameterized.discard_events(config):
            config.param.update(values)  # every value was checked by _parse: no partial update
        config._sources = raw
        config._environ = environ  # read for the Alpaca keys only; never kept in a setting
        config._check()
        return config

    def __repr__(self) -> str:
        """Every setting, the secrets' values hidden (a repr reaches logs and tracebacks)."""
        shown = (
            f"{n}={'***' if n in self.SECRETS and getattr(self, n) else repr(getattr(self, n))}" for n in self.names()
        )
        return f"Config({', '.join(shown)})"

    def is_set(self, name: str) -> bool:
        """Whether a variable or a flag set ``name`` (not its default)."""
        return name in getattr(self, "_sources", {})

    def origin(self, name: str) -> str:
        """Where a setting came from, for messages: ``SEAMLESS_DB``, ``--db`` or ``default``."""
        return getattr(self, "_sources", {}).get(name, (None, flag_name(name)))[1]

    def fail(self, name: str, why: str) -> ConfigError:
        """The error for setting ``name``, as it was given: ``--db='x': why``."""
        if name in self.SECRETS:
            return ConfigError(f"{self.origin(name)}: {why}")
        raw = getattr(self, "_sources", {}).get(name, (getattr(self, name), ""))[0]
        return ConfigError(f"{self.origin(name)}={raw!r}: {why}")

    @classmethod
    def _parse(cls, name: str, raw: str, source: str) -> Any:
        p = cls.param[name]

        def bad(why: str) -> ConfigError:
            return ConfigError(f"{source}={raw!r}: {why}")

        if isinstance(p, param.Boolean):
            if raw.strip().lower() not in ("1", "0", "true", "false", "yes", "no"):
                raise bad("must be 1/0, true/false or yes/no")
            return raw.strip().lower() in ("1", "true", "yes")
        if isinstance(p, (param.Integer, param.Number)):
            try:
                value: Any = int(raw) if isinstance(p, param.Integer) else float(raw)
            except ValueError:
                raise bad(
                    f"must be {'a whole number' if isinstance(p, param.Integer) else 'a number'}{_bounds_text(p)}"
                ) from None
            if not math.isfinite(value):
                raise bad(f"must be a finite number{_bounds_text(p)}")
            if not _in_bounds(p, value):
                raise bad(f"must be a number{_bounds_text(p)}")
            return value
        if isinstance(p, param.List):
            items = [s for s in raw.replace(",", " ").split() if s]
            if not items:
                raise bad("must name at least one (comma or space separated)")
            return items
        if isinstance(p, param.Selector) and raw not in p.objects:
            raise bad(f"must be one of {', '.join(map(str, p.objects))}")
        return raw

    def _check(self) -> None:
        """What one setting's type cannot say: files, names, settings that go together."""
        db = Path(self.db)
        if not self.db.strip():
            raise self.fail("db", "must name a file")
        if db.is_dir():
            raise self.fail("db", "is a directory; name the store's file, such as seamless.db")
        parent = db.parent if str(db.parent) else Path(".")
        if not parent.is_dir():
            raise self.fail("db", f"directory {parent} does not exist")
        if not self.http_address.strip():
            raise self.fail("http_address", "must name an address to listen on, such as 127.0.0.1")
        token = self.stream_token
        if token and (len(token) < 16 or not token.isascii() or not token.isprintable() or " " in token):
            # A secret: the message never repeats it.
            raise self.fail(
                "stream_token", "must be at least 16 printable ASCII characters, no spaces (openssl rand -hex 32)"
            )
        for name in ("mirror_to", "source"):
            url = getattr(self, name)
            if url and not url.startswith(("postgresql://", "postgres://")):
                # The URL may hold a password: not repeated here.
                raise ConfigError(f"{self.origin(name)}: must be a PostgreSQL URL, postgresql://HOST[:PORT]/DATABASE")
        if self.broker_db and Path(self.broker_db).is_dir():
            raise self.fail("broker_db", "is a directory; name the paper broker's file")
        for s in self.symbols:
            if not _SYMBOL.match(s):
                raise self.fail("symbols", f"{s!r} is not a symbol: upper-case letters and digits, such as AAPL")
        for name, group in (("broker", BROKERS), ("feed", FEEDS)):
            known = plugin_names(group)
            if getattr(self, name) not in known:
                raise self.fail(name, f"must be one of {', '.join(known)}")
        strategies = plugin_names(STRATEGIES)
        for s in self.strategies:
            if s not in strategies:
                raise self.fail("strategies", f"unknown strategy {s!r}; known: {', '.join(strategies)}")
        self._check_alpaca()
        if self.feed == "replay" and self.replay_file:
            f = Path(self.replay_file)
            if not f.is_file():
                raise self.fail("replay_file", "no such file" if not f.exists() else "is not a file")
        self._check_notify()

    def _check_alpaca(self) -> None:
        if not self.alpaca_paper and not self.i_understand_live and "alpaca" in (self.broker, self.feed):
            raise self.fail(
                "alpaca_paper", "trades real money: set SEAMLESS_I_UNDERSTAND_LIVE=1 too, or keep the paper account"
            )
        if self.alpaca_url and not re.match(r"^https?://[^/\s]+/?$", self.alpaca_url):
            raise self.fail("alpaca_url", "must be a base URL such as http://127.0.0.1:8765")
        missing = [v for v in ALPACA_KEY_VARS if not self._environ.get(v)]
        if missing and "alpaca" in (self.broker, self.feed):
            which = "broker" if self.broker == "alpaca" else "feed"
            raise self.fail(which, f"needs the account's API keys in the environment: {' and '.join(missing)} not set")

    def alpaca_keys(self) -> tuple[str, str]:
        """The Alpaca API key id and secret, from the environment (never a setting or a flag)."""
        key_id, secret = (self._environ.get(v, "") for v in ALPACA_KEY_VARS)
        return key_id, secret

    def _check_notify(self) -> None:
        from .notify import KINDS

        for kind in self.notify_events:
            if kind not in KINDS:
                raise self.fail("notify_events", f"unknown notification kind {kind!r}; known: {', '.join(KINDS)}")
        if not self.notify_urls:
            return
        from .notify.targets import parse_all  # apprise: imported only when there is a URL

        _, bad = parse_all(self.notify_urls)
        if bad:
            raise self.fail("notify_urls", f"apprise cannot use {', '.join(bad)} (unknown service, or a part missing)")

    @property
    def broker_path(self) -> str:
        """The paper broker's file: ``broker_db``, or beside the store (``acct.db`` -> ``acct.broker.db``)."""
        from .brokers.paper import default_broker_db

        return self.broker_db or default_broker_db(self.db)


def _bounds_text(p: param.Number) -> str:
    lo, hi = p.bounds or (None, None)
    inc_lo, inc_hi = getattr(p, "inclusive_bounds", (True, True))
    parts = []
    if lo is not None:
        parts.append(f"{'>=' if inc_lo else '>'} {lo:g}")
    if hi is not None:
        parts.append(f"{'<=' if inc_hi else '<'} {hi:g}")
    return (" " + " and ".join(parts)) if parts else ""


def _in_bounds(p: param.Number, value: float) -> bool:
    lo, hi = p.bounds or (None, None)
    inc_lo, inc_hi = getattr(p, "inclusive_bounds", (True, True))
    if lo is not None and (value < lo or (value == lo and not inc_lo)):
        return False
    return not (hi is not None and (value > hi or (value == hi and not inc_hi)))


class _ArgvParser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse would print usage and exit the server
        raise ConfigError(f"--args: {message}")


def _parse_argv(names: list[str], argv: Sequence[str]) -> dict[str, str]:
    if not argv:
        return {}
    parser = _ArgvParser(prog="app.py", add_help=False, allow_abbrev=False, exit_on_error=False)
    for name in names:
        parser.add_argument(flag_name(name), dest=name)
    try:
        args, unknown = parser.parse_known_args(list(argv))
    except argparse.ArgumentError as e:
        raise ConfigError(f"--args: {e}") from None
    if unknown:
        raise ConfigError(
            f"--args: unknown setting(s) {' '.join(unknown)}; known: " + ", ".join(flag_name(n) for n in names)
        )
    return {k: v for k, v in vars(args).items() if v is not None}
