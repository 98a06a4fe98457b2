"""The ``seamless`` command line.

Every command reads the one configuration (:mod:`seamless.config`): ``SEAMLESS_*``
variables, then its flags. Every error is one line on stderr (exit status 2 for a setting
or an input Seamless refuses, 1 for anything unexpected); ``--debug`` shows tracebacks.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import param

from . import wiring
from .config import Config, ConfigError, flag_name
from .errors import SeamlessError, StoreError, StoreInUse


def _until(text: str | None) -> dict:
    if text is None:
        return {}
    if text.isdigit():
        return {"until_seq": int(text)}
    return {"until_time": text}


def _existing(config: Config) -> Config:
    """``config``, once its store is known to exist (commands that read one)."""
    if not Path(config.db).is_file():
        raise StoreError(f"no store at {config.db} ({config.origin('db')})")
    return config


def cmd_state(args: argparse.Namespace, config: Config) -> int:
    from .replay import replay

    return _print_state(replay(_existing(config).db), args.json)


def cmd_replay(args: argparse.Namespace, config: Config) -> int:
    from .replay import replay

    try:
        kw = _until(args.until)
    except ValueError as e:
        raise ConfigError(f"--until={args.until!r}: give a sequence number or an ISO time ({e})") from None
    try:
        rep = replay(_existing(config).db, use_snapshots=not args.no_snapshots, **kw)
    except ValueError as e:
        raise ConfigError(f"--until={args.until!r}: give a sequence number or an ISO time ({e})") from None
    return _print_state(rep, args.json)


def _print_state(rep, as_json: bool) -> int:
    doc = rep.document()
    for w in rep.warnings:
        print(f"warning: {w}", file=sys.stderr)
    if as_json:
        json.dump(doc, sys.stdout, indent=None, separators=(",", ":"))
        print()
        return 0
    print(human_state(rep.path, doc))
    return 0


def human_state(path, doc: dict, now: float | None = None) -> str:
    """The state for a person: money with its decimals, prices at their tick, times in the
    exchange's zone with the age (``--json`` keeps the raw numbers)."""
    from . import fmt

    now = time.time() if now is None else now
    r, a, risk = doc["runner"], doc["account"], doc["risk"]
    lines = [f"{path} @ seq {doc['seq']}"]
    since = f"  since {fmt.exchange_time(r['since'], date=True)} ({fmt.age(now - r['since'])})" if r["since"] else ""
    lines.append(f"runner    {r['status']}{since}")
    reason = f"  ({risk['state_reason']})" if risk["state_reason"] else ""
    lines.append(f"trading   {risk['trading_state']}{reason}")
    day = a["daily_realized_pnl"] + a["daily_unrealized_pnl"]
    lines.append(
        f"account   equity {fmt.money(a['equity'])}  cash {fmt.money(a['cash'])}  day P&L {fmt.money(day, signed=True)}"
    )
    if doc["positions"]:
        lines.append(f"  {'symbol':<8} {'qty':>10} {'avg price':>12} {'mark':>12} {'unrealized':>14}")
    for sym, p in sorted(doc["positions"].items()):
        lines.append(
            f"  {sym:<8} {fmt.qty(p['qty']):>10} {fmt.price(p['avg_price']):>12} {fmt.price(p['mark']):>12} "
            f"{fmt.money(p['unrealized_pnl'], signed=True):>14}"
        )
    return "\n".join(lines)


def cmd_migrate(args: argparse.Namespace, config: Config) -> int:
    from .persist import migrations, schema

    path = Path(_existing(config).db)
    conn, found = schema.connect(path, read_only=True)  # the plan: a dry run changes nothing
    conn.close()
    plan = migrations.plan(path, found)
    print(plan.describe())
    if args.dry_run or not plan.steps:
        if args.dry_run and plan.steps:
            print("dry run: nothing was changed")
        return 0
    lock = schema.WriterLock(path)  # refused while a Store has the file open
    try:
        conn, found = schema.connect(path)
        try:
            done = migrations.migrate(conn, path, found)
        finally:
            conn.close()
    finally:
        lock.release()
    if done.steps:
        print(f"migrated to schema version {done.to_version}; backup: {done.backup}")
    return 0


def cmd_verify(args: argparse.Namespace, config: Config) -> int:
    """Verify the whole history; exit 1 naming the first bad seq or file."""
    import time

    from .persist import history, open_reader

    conn = open_reader(_existing(config).db)
    t0 = time.perf_counter()
    try:
        progress, finding = history.verify(conn)
    finally:
        conn.close()
    doc = {
        "ok": finding is None,
        "verified_through_seq": progress.seq,
        "files": progress.files_checked,
        "bytes": progress.bytes_read,
        "seconds": round(time.perf_counter() - t0, 3),
        "finding": None
        if finding is None
        else {"where": finding.where, "seq": finding.seq, "file": finding.file, "reason": finding.reason},
    }
    if args.json:
        json.dump(doc, sys.stdout, separators=(",", ":"))
        print()
    elif finding is None:
        print(f"{config.db}: intact through seq {progress.seq} ({progress.files_checked} archive file(s))")
    else:
        print(f"{config.db}: CORRUPT at {finding.where}: {finding.reason}")
    return 0 if finding is None else 1


def cmd_compact(args: argparse.Namespace, config: Config) -> int:
    """Move non-critical events older than the retention window into archives."""
    from .store import retention

    try:
        store = wiring.open_store(_existing(config))
    except StoreInUse as e:
        raise StoreInUse(
            f"{e} (a runner or the dashboard): it compacts its store itself, at most once an hour"
        ) from None
    try:
        report = retention.compact(store, config.retention_days, dry_run=args.dry_run)
    finally:
        store.close(snapshot=False)
    if args.json:
        json.dump(report.document(), sys.stdout, separators=(",", ":"))
        print()
        return 0
    when = "would move" if args.dry_run else "moved"
    moved = report.groups if args.dry_run else report.archived
    print(f"{config.db}: events before {report.cutoff:.0f} (UTC midnight, {config.retention_days:g} days ago)")
    for g in moved:
        print(f"  {when} {g.rows} events to {g.file}")
    if not moved:
        print("  nothing to move")
    if not args.dry_run:
        print(
            f"  deleted {report.deleted} rows from the journal, gave back {report.vacuumed_pages} pages, "
            f"{report.seconds:.1f} s"
        )
    return 0


def cmd_bench(args: argparse.Namespace, config: Config) -> int:
    if not args.scale > 0 or args.scale == float("inf"):
        raise ConfigError(f"--scale={args.scale!r}: must be a number > 0 (1 is the full event counts)")
    if args.clients and min(args.clients) < 1:
        raise ConfigError(f"--clients={' '.join(map(str, args.clients))}: each must be a whole number >= 1")
    if args.tabs and min(args.tabs) < 1:
        raise ConfigError(f"--tabs={' '.join(map(str, args.tabs))}: each must be a whole number >= 1")
    if args.what == "store":
        from .bench.store import main as bench_store

        return bench_store(as_json=args.json, scale=args.scale, directory=args.dir)
    if args.what == "engine":
        from .bench.engine import main as bench_engine

        return bench_engine(as_json=args.json, scale=args.scale, directory=args.dir, broker=args.broker)
    if args.what == "push":
        from .bench.push import main as bench_push

        tabs = tuple(args.tabs) if args.tabs else (1, 10, 25)
        return bench_push(as_json=args.json, tab_counts=tabs, directory=args.dir)
    if args.what == "capacity":
        from .bench.capacity import main as bench_capacity

        if args.sessions and min(args.sessions) < 1:
            raise ConfigError(f"--sessions={' '.join(map(str, args.sessions))}: each must be a whole number >= 1")
        counts = tuple(args.sessions) if args.sessions else (10, 25, 50, 100)
        return bench_capacity(
            as_json=args.json, session_counts=counts, duration_s=65.0 * args.scale, directory=args.dir
        )
    if args.what == "mirror":
        from .bench.mirror import main as bench_mirror

        return bench_mirror(as_json=args.json, duration_s=60.0 * args.scale, directory=args.dir)
    if args.what == "stream":
        from .bench.stream import main as bench_stream

        return bench_stream(as_json=args.json, client_counts=tuple(args.clients or (1, 100)), directory=args.dir)
    if args.what == "retention":
        from .bench.retention import main as bench_retention

        return bench_retention(as_json=args.json, scale=args.scale, directory=args.dir)
    if args.what == "soak":
        from .bench.soak import main as bench_soak

        if not 0 < args.minutes < float("inf"):
            raise ConfigError(f"--minutes={args.minutes!r}: must be a number > 0")
        return bench_soak(minutes=args.minutes, as_json=args.json, directory=args.dir)
    raise SeamlessError(f"unknown benchmark {args.what!r}")


def cmd_broker_positions(args: argparse.Namespace, config: Config) -> int:
    with wiring.open_broker(config, must_exist=True) as broker:
        positions = broker.positions()
        account = broker.account()
    if args.json:
        json.dump(
            {s: {"qty": p.qty, "avg_price": p.avg_price} for s, p in positions.items()},
            sys.stdout,
            separators=(",", ":"),
        )
        print()
        return 0
    where = config.broker_path if config.broker == "paper" else config.broker
    print(f"{where}  cash {account.cash:.2f}  equity {account.equity:.2f}")
    if not positions:
        print("  no open positions")
    for sym, p in sorted(positions.items()):
        print(f"  {sym:<8} qty {p.qty:>12g}  avg {p.avg_price:>10.4f}")
    return 0


def cmd_broker_trade(args: argparse.Namespace, config: Config) -> int:
    from .brokers.base import check_price, check_qty, check_symbol

    # Checked before the broker's file is opened: a bad argument touches nothing.
    check_symbol(args.symbol, "--symbol")
    check_qty(args.qty, "--qty")
    if args.price is not None:
        check_price(args.price, "--price")
    if config.broker != "paper":
        raise config.fail("broker", "seamless broker trade trades at the paper broker only; use the venue's own app")
    with wiring.paper_broker(config, must_exist=True) as broker:
        f = broker.trade(args.symbol, args.qty, args.price)
    print(
        f"{f.trade_id}  {f.symbol}  {'BUY' if f.qty > 0 else 'SELL'} {abs(f.qty):g} @ {f.price:.4f}  "
        f"commission {f.commission:.2f}  cursor {f.cursor}"
    )
    return 0


def cmd_fake_alpaca(args: argparse.Namespace, config: Config) -> int:
    import signal

    from .config import ALPACA_KEY_VARS
    from .fakes.alpaca import FakeAlpaca

    if not 0 <= args.port <= 65535:
        raise ConfigError(f"--port={args.port}: must be a port number, 0 to 65535 (0: a free one)")
    if not args.step >= 0:
        raise ConfigError(f"--step={args.step}: must be a number of seconds >= 0")
    if not 0 <= args.volatility < 1:
        raise ConfigError(f"--volatility={args.volatility}: must be a number from 0 to 1 (a price move's sigma)")
    keys = [os.environ.get(v, "") for v in ALPACA_KEY_VARS]
    try:
        fake = FakeAlpaca(
            args.file,
            port=args.port,
            key_id=keys[0] or "FAKEKEYID",
            secret_key=keys[1] or "FAKESECRET",
            step_s=args.step,
            seed=args.seed,
            volatility=args.volatility,
        )
    except OSError as e:
        raise ConfigError(f"--port={args.port}: cannot listen on 127.0.0.1:{args.port}: {e.strerror or e}") from None
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: fake.stop())
    print(f"loopback Alpaca on {fake.url} (account in {args.file}); SEAMLESS_ALPACA_URL={fake.url}", flush=True)
    fake.serve_forever()
    return 0


def cmd_reconcile(args: argparse.Namespace, config: Config) -> int:
    from .reconcile import Reconciler

    if args.dry_run:  # the read path: no writer lock, no write, beside a live runner
        source = wiring.follow_store(_existing(config))
        try:
            with wiring.open_broker(config, read_only=True) as reader:
                report = Reconciler(source, reader).run(dry_run=True)
        finally:
            source.close()
        return _print_report(report, args.json)
    try:
        store = wiring.open_store(_existing(config))
    except StoreInUse as e:
        raise StoreInUse(
            f"{e} (a runner or the dashboard): compare beside it with seamless reconcile --dry-run; "
            f'resolve with the dashboard\'s "Reconcile now", or once the runner has stopped'
        ) from None
    try:
        broker = wiring.open_broker(config, must_exist=True)
        try:
            report = Reconciler(store, broker).run()
        finally:
            broker.close()
    finally:
        store.close()
    return _print_report(report, args.json)


def _print_report(report, as_json: bool) -> int:
    """The report on stdout (one JSON object, or a line and one line a finding); the exit status."""
    if as_json:
        print(report.to_json())
    else:
        print(
            f"{report.run_id}{' (dry run)' if report.dry_run else ''}: {len(report.findings)} finding(s), "
            f"{'store and broker agree' if report.ok else f'{len(report.remaining)} mismatch(es) left'}"
            f"{', escalated' if report.escalated else ''}"
        )
        for f, r in zip(report.findings, report.resolutions):
            print(f"  {f.kind:<28} {f.subject:<16} store {f.store_value} | broker {f.broker_value} -> {r}")
    return 0 if report.ok else 1


def cmd_run(args: argparse.Namespace, config: Config) -> int:
    import signal

    http = _http_port(config)  # bound before anything opens: a port in use changes nothing
    try:
        trading = wiring.trading(config)
    except BaseException:
        if http is not None:
            http.close()
        raise
    runner = trading.runner
    mirror = None
    try:
        from . import ops

        if config.mirror_to:  # beside the runner: PostgreSQL follows the file
            from .mirror import Mirror

            mirror = Mirror(config.db, config.mirror_to).start()

        target = ops.Target(config, trading.store, runner, notifier=trading.notifier, mirror=mirror)
        source = ops.Source(target, ops.Metrics(target))
        if trading.notifier is not None:  # "not ready for N s" agrees with /readyz
            trading.notifier.ready = lambda: ops.not_ready(source)
        if http is not None:  # /healthz, /readyz, /metrics while it runs
            http.start(lambda: source)
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: runner.stop())
        runner.run(duration=config.duration, max_ticks=config.max_ticks)
    finally:
        if http is not None:
            http.close()
        trading.close()  # the store flushes and writes a snapshot
        if mirror is not None:
            mirror.close()  # after the store: its last rows and snapshot go too
    bad = ", ".join(f"{k} {v}" for k, v in sorted(runner.rejected.items())) or "none"
    print(f"stopped at seq {trading.store.seq}: {runner.ticks} ticks, bad ticks rejected: {bad}")
    if trading.notifier is not None:
        n = trading.notifier.stats()
        print(
            f"notifications: sent {n['sent']}, failed {n['failed']}, retried {n['retried']}, "
            f"coalesced {n['coalesced']}" + (f"; last error: {n['last_error']}" if n["last_error"] else "")
        )
    return 0


def cmd_mirror(args: argparse.Namespace, config: Config) -> int:
    import signal

    from .mirror import Mirror, redact

    if not config.mirror_to:
        raise ConfigError("mirror: --to is required: the PostgreSQL URL to mirror to (postgresql://HOST/DATABASE)")
    if not Path(config.db).is_file():
        raise config.fail("db", "no store database there")
    mirror = Mirror(config.db, config.mirror_to)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: mirror.stop())
    try:
        mirror.run()
    finally:
        mirror.close()
    lag = mirror.lag.percentiles_ms()
    print(
        f"mirrored {config.db} to {redact(config.mirror_to)} up to seq {mirror.seq}: {mirror.rows} row(s) in "
        f"{mirror.batches} batch(es), lag p50 {lag['p50_ms']} ms p99 {lag['p99_ms']} ms, "
        f"{mirror.reconnects} reconnect(s)"
    )
    return 0


def _http_port(config: Config):
    """The endpoints' port, bound (``--http-port``), or None when it is 0."""
    if not config.http_port:
        return None
    from .ops import HttpServer

    try:
        return HttpServer(config.http_port, config.http_address)
    except OSError as e:
        why = f"cannot listen on {config.http_address}:{config.http_port}: {e.strerror or e}"
        raise config.fail("http_port", why) from None


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, not usage and a line
        command = self.prog.removeprefix("seamless").strip()
        raise ConfigError(f"{command}: {message}" if command else message)


def _settings(parser: argparse.ArgumentParser, *names: str) -> None:
    """Flags for configuration settings (each also read from ``SEAMLESS_<NAME>``)."""
    for name in names:
        p = Config.param[name]
        env = f"SEAMLESS_{name.upper()}"
        default = p.default if not isinstance(p.default, list) else ",".join(p.default)
        help_ = f"{p.doc} [{env}; default {default if default not in (None, '') else 'none'}]".replace("%", "%%")
        if name == "reconcile":
            parser.add_argument(
                "--no-reconcile",
                dest="cfg_reconcile",
                action="store_const",
                const="0",
                help=f"no reconciliation with the broker [{env}=0]",
            )
        elif name == "strategies":
            parser.add_argument(
                "--strategies", "--strategy", dest="cfg_strategies", nargs="+", metavar="NAME", help=help_
            )
        elif isinstance(p, param.List):
            parser.add_argument(flag_name(name), dest=f"cfg_{name}", nargs="+", metavar="NAME", help=help_)
        else:
            parser.add_argument(flag_name(name), dest=f"cfg_{name}", metavar=name.upper(), help=help_)


def _flags(args: argparse.Namespace) -> dict[str, str]:
    """The settings the command line gave, as raw text for :meth:`Config.load`."""
    out = {}
    for key, value in vars(args).items():
        if key.startswith("cfg_") and value is not None:
            out[key[4:]] = " ".join(value) if isinstance(value, list) else value
    return out


RUN_SETTINGS = (
    "db",
    "retention_days",
    "scrub_kb_per_s",
    "scrub_rest_s",
    "halt_on_corrupt_history",
    "broker",
    "alpaca_paper",
    "i_understand_live",
    "alpaca_data_feed",
    "alpaca_url",
    "broker_db",
    "broker_max_notional",
    "broker_price_band",
    "broker_margin",
    "feed",
    "replay_file",
    "symbols",
    "seed",
    "strategies",
    "speed",
    "volatility",
    "sim_ticks_per_s",
    "sim_gap_every_s",
    "sim_gap_s",
    "store_max_mb",
    "duration",
    "max_ticks",
    "daily_loss_limit",
    "max_position",
    "stop_loss_pct",
    "take_profit_pct",
    "trailing_pct",
    "reconcile_interval",
    "reconcile",
    "notify_events",
    "notify_rate",
    "notify_not_ready_s",
    "http_port",
    "http_address",
    "sse_buffer",
    "sse_heartbeat_s",
    "mirror_to",
    "ready_max_journal_lag_s",
    "ready_max_write_age_s",
    "ready_max_snapshot_age_s",
    "ready_feed_stale_s",
    "ready_min_disk_free_mb",
)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="seamless",
        description="Live-trading state done right. Settings come from SEAMLESS_* variables, then flags (flags win).",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="log more")
    p.add_argument(
        "--debug",
        action="store_const",
        const="1",
        dest="cfg_debug",
        help="show tracebacks with errors [SEAMLESS_DEBUG=1]",
    )
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def command(name: str, fn: Callable[..., int], help_: str) -> argparse.ArgumentParser:
        s = sub.add_parser(name, help=help_, description=help_)
        s.set_defaults(fn=fn)
        return s

    s = command("state", cmd_state, "print the current state of a store (read-only)")
    _settings(s, "db")
    s.add_argument("--json", action="store_true", help="one JSON object")

    s = command("replay", cmd_replay, "rebuild the state as of a seq or a time (read-only)")
    _settings(s, "db")
    s.add_argument("--until", help="sequence number, or ISO time such as 2026-11-25T14:30:00")
    s.add_argument("--no-snapshots", action="store_true", help="replay the whole journal")
    s.add_argument("--json", action="store_true")

    s = command(
        "migrate",
        cmd_migrate,
        "migrate a store to this Seamless's schema version "
        "(a backup first; stores also migrate when opened for writing)",
    )
    _settings(s, "db")
    s.add_argument(
        "--dry-run", action="store_true", help="show the plan (versions, steps, backup name); change nothing"
    )

    s = command("verify", cmd_verify, "verify the whole history (journal, chain, archives); exit 1 names what is bad")
    _settings(s, "db")
    s.add_argument("--json", action="store_true", help="one JSON object")

    s = command("compact", cmd_compact, "move non-critical events older than the retention window into archives")
    _settings(s, "db", "retention_days")
    s.add_argument("--dry-run", action="store_true", help="show what would move; change nothing")
    s.add_argument("--json", action="store_true", help="one JSON object")

    s = command("bench", cmd_bench, "measure; prints figures")
    s.add_argument("what", choices=["store", "engine", "push", "soak", "retention", "stream", "mirror", "capacity"])
    s.add_argument("--json", action="store_true")
    s.add_argument("--scale", type=float, default=1.0, help="fraction of the full event counts")
    s.add_argument("--dir", default=None, help="directory on the disk to measure (default: temp)")
    s.add_argument("--tabs", type=int, nargs="+", help="push: browser tab counts (default: 1 10 25)")
    s.add_argument("--minutes", type=float, default=30.0, help="soak: how long to run (default: 30)")
    s.add_argument(
        "--broker",
        choices=["paper", "alpaca"],
        default="paper",
        help="engine: alpaca also runs it against a loopback Alpaca, beside the paper broker's figures",
    )
    s.add_argument("--clients", type=int, nargs="+", help="stream: /events client counts (default: 1 100)")
    s.add_argument("--sessions", type=int, nargs="+", help="capacity: session counts (default: 10 25 50 100)")

    s = command("run", cmd_run, "run the strategies headless against a broker and a feed")
    _settings(s, *RUN_SETTINGS)

    s = command(
        "fake-alpaca",
        cmd_fake_alpaca,
        "serve a loopback Alpaca (trading REST, trade updates, market data) for tests and demos",
    )
    s.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1 (default 8765; 0: a free one)")
    s.add_argument("--file", default="fake-alpaca.db", help="its account's SQLite file (default fake-alpaca.db)")
    s.add_argument("--step", type=float, default=0.1, help="seconds between price moves (default 0.1)")
    s.add_argument("--seed", type=int, default=0, help="its price path's seed")
    s.add_argument("--volatility", type=float, default=0.0005, help="sigma of each price move (default 0.0005)")

    s = command("mirror", cmd_mirror, "copy a store's journal to PostgreSQL, row by row, until stopped")
    _settings(s, "db")
    s.add_argument("--to", "--mirror-to", dest="cfg_mirror_to", metavar="URL", help=Config.param["mirror_to"].doc)

    s = command("reconcile", cmd_reconcile, "reconcile a store with its broker; exit 1 if a mismatch is left")
    _settings(s, "db", "broker", "broker_db", "alpaca_paper", "alpaca_url")
    s.add_argument("--dry-run", action="store_true", help="compare only; journal nothing")
    s.add_argument("--json", action="store_true", help="one JSON object: findings and resolutions")

    s = sub.add_parser("broker", help="a paper broker's own database (the venue, not the store)")
    bsub = s.add_subparsers(dest="broker_command", required=True, parser_class=_Parser)
    b = bsub.add_parser("positions", help="the broker's open positions")
    b.set_defaults(fn=cmd_broker_positions)
    _settings(b, "broker", "broker_db", "alpaca_paper", "alpaca_url")
    b.add_argument("--json", action="store_true", help="one JSON object: symbol -> {qty, avg_price}")
    b = bsub.add_parser("trade", help="trade at the broker by hand (out of band: no runner order)")
    b.set_defaults(fn=cmd_broker_trade)
    _settings(b, "broker_db", "broker_max_notional", "broker_price_band", "broker_margin")
    b.add_argument("--symbol", required=True)
    b.add_argument("--qty", required=True, type=float, help="signed: > 0 buys, < 0 sells")
    b.add_argument("--price", type=float, default=None, help="default: the broker's last mark")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    debug = os.environ.get("SEAMLESS_DEBUG", "").lower() in ("1", "true", "yes") or "--debug" in (
        sys.argv[1:] if argv is None else argv
    )
    try:
        args = build_parser().parse_args(argv)
        logging.basicConfig(
            level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
        )
        config = Config.load(flags=_flags(args))  # nothing is opened before the settings are valid
        return args.fn(args, config)
    except SeamlessError as e:
        if debug:
            raise
        print(f"seamless: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `seamless state --json | head`: the reader has what it wanted
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # Python's flush at exit would fail again
        return 0
    except Exception as e:
        if debug:
            raise
        print(
            f"seamless: error: unexpected {type(e).__name__}: {e} (run with --debug for the traceback)", file=sys.stderr
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
