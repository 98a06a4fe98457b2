"""What the embedded service runs, from environment variables or ``panel serve --args``."""
from __future__ import annotations

import argparse
import os
from typing import Mapping, Sequence

import param

from ..errors import SeamlessError


class ConfigError(SeamlessError):
    """A setting that cannot be used, named with the variable or flag that set it."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse would print usage and exit the server
        raise ConfigError(f"--args: {message}")


class ServiceConfig(param.Parameterized):
    """Each parameter is set by ``SEAMLESS_<NAME>`` or ``--<name>`` (``--args`` wins)."""

    db = param.String("seamless.db", doc="The store's SQLite file (created if new)")
    broker = param.Selector(default="paper", objects=["paper"], doc="The broker adapter")
    broker_db = param.String("", doc="The paper broker's file (default: beside the store, .broker)")
    feed = param.Selector(default="sim", objects=["sim", "replay"], doc="Simulated prices or a replayed file")
    replay_file = param.String("", doc="CSV or Parquet OHLC file for the replay feed (default: sample stocks)")
    symbols = param.List(["AAPL", "MSFT", "GOOG", "IBM"], item_type=str, doc="Symbols to trade")
    seed = param.Integer(0, doc="The simulated feed's seed")
    volatility = param.Number(0.2, bounds=(0, None), doc="The simulated feed's annualized volatility")
    speed = param.Number(1.0, bounds=(0, None), doc="Exchange seconds per second (sim: 1.0 is ~1,000 ticks/s)")
    strategies = param.List(["ma_cross"], item_type=str, doc="ma_cross, breakout")
    daily_loss_limit = param.Number(5_000.0, bounds=(0, None), inclusive_bounds=(False, True),
                                    doc="Largest daily loss allowed before trading halts")
    max_position = param.Number(1_000.0, bounds=(0, None), inclusive_bounds=(False, True),
                                doc="Largest position per symbol, in shares")
    reconcile_interval = param.Number(30.0, bounds=(0, None), inclusive_bounds=(False, True),
                                      doc="Seconds between scheduled reconciliations (one per server process)")
    autostart = param.Boolean(True, doc="Start the runner with the server")
    max_rate = param.Number(2.0, bounds=(0, None), inclusive_bounds=(False, True),
                            doc="Most updates per second per component and session (critical events pass at once)")
    stale_after = param.Number(5.0, bounds=(0, None), inclusive_bounds=(False, True),
                               doc="Seconds after which market data shows as stale")

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None, argv: Sequence[str] = ()) -> "ServiceConfig":
        """Defaults, then ``SEAMLESS_*`` variables, then ``argv``; a bad value is a ConfigError."""
        environ = os.environ if environ is None else environ
        values: dict[str, tuple[object, str]] = {}  # name -> (value, "SOURCE=raw") for messages
        for name in cls._names():
            var = f"SEAMLESS_{name.upper()}"
            raw = environ.get(var)
            if raw is not None:
                values[name] = (cls._parse(name, raw, var), f"{var}={raw!r}")
        parser = _Parser(prog="app.py", add_help=False, allow_abbrev=False, exit_on_error=False)
        for name in cls._names():
            parser.add_argument(f"--{name.replace('_', '-')}", dest=name)
        try:
            args, unknown = parser.parse_known_args(list(argv))
        except argparse.ArgumentError as e:
            raise ConfigError(f"--args: {e}") from None
        if unknown:
            raise ConfigError(f"--args: unknown setting(s) {' '.join(unknown)}; known: "
                              + ", ".join(f"--{n.replace('_', '-')}" for n in cls._names()))
        for name, raw in vars(args).items():
            if raw is not None:
                flag = f"--{name.replace('_', '-')}"
                values[name] = (cls._parse(name, raw, flag), f"{flag}={raw!r}")
        config = cls()
        for name, (value, source) in values.items():
            try:
                setattr(config, name, value)
            except ValueError as e:  # out of bounds: say which setting said so
                raise ConfigError(f"{source}: {e}") from None
        return config

    @classmethod
    def _names(cls) -> list[str]:
        return [n for n in cls.param if n != "name"]

    @classmethod
    def _parse(cls, name: str, raw: str, source: str) -> object:
        p = cls.param[name]
        try:
            if isinstance(p, param.Boolean):
                if raw.lower() not in ("1", "0", "true", "false", "yes", "no"):
                    raise ValueError("expected 1/0, true/false or yes/no")
                return raw.lower() in ("1", "true", "yes")
            if isinstance(p, param.Integer):
                return int(raw)
            if isinstance(p, param.Number):
                value = float(raw)
                if value != value:
                    raise ValueError("NaN")
                return value
            if isinstance(p, param.List):
                items = [s.strip() for s in raw.replace(",", " ").split() if s.strip()]
                if not items:
                    raise ValueError("empty list")
                return items
        except ValueError as e:
            raise ConfigError(f"{source}={raw!r}: {e}") from None
        if isinstance(p, param.Selector) and raw not in p.objects:
            raise ConfigError(f"{source}={raw!r}: must be one of {', '.join(map(str, p.objects))}")
        return raw
