"""The ``seamless`` command line."""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from .errors import SeamlessError

if TYPE_CHECKING:
    from .brokers import PaperBroker


def _until(text: str | None) -> dict:
    if text is None:
        return {}
    if text.isdigit():
        return {"until_seq": int(text)}
    return {"until_time": text}


def cmd_state(args: argparse.Namespace) -> int:
    from .replay import replay
    return _print_state(replay(args.db), args.json)


def cmd_replay(args: argparse.Namespace) -> int:
    from .replay import replay
    try:
        kw = _until(args.until)
        return _print_state(replay(args.db, use_snapshots=not args.no_snapshots, **kw), args.json)
    except ValueError as e:
        raise SeamlessError(f"--until {args.until!r}: give a sequence number or an ISO time ({e})") from e


def _print_state(rep, as_json: bool) -> int:
    doc = rep.document()
    for w in rep.warnings:
        print(f"warning: {w}", file=sys.stderr)
    if as_json:
        json.dump(doc, sys.stdout, indent=None, separators=(",", ":"))
        print()
        return 0
    print(f"{rep.path} @ seq {doc['seq']}")
    r, a = doc["runner"], doc["account"]
    print(f"runner   {r['status']}" + (f"  since {r['since']:.0f}" if r["since"] else ""))
    print(f"trading  {doc['risk']['trading_state']}  {doc['risk']['state_reason']}")
    print(f"account  cash {a['cash']:.2f}  equity {a['equity']:.2f}  day P&L "
          f"{a['daily_realized_pnl'] + a['daily_unrealized_pnl']:.2f}")
    for sym, p in sorted(doc["positions"].items()):
        print(f"  {sym:<8} qty {p['qty']:>12g}  avg {p['avg_price']:>10.4f}  mark {p['mark']}  "
              f"unrealized {p['unrealized_pnl']:.2f}")
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    import sqlite3

    from .errors import StoreError
    from .persist import migrations, schema
    path = Path(args.db)
    if not path.exists():
        raise StoreError(f"no store at {path}")
    # The plan is read on a read-only connection: a dry run changes nothing.
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        found = schema.check_version(conn, path)
        if not conn.execute("SELECT 1 FROM sqlite_master WHERE name='journal'").fetchone():
            raise StoreError(f"{path} is not a Seamless store (no journal table)")
    except sqlite3.DatabaseError as e:
        raise StoreError(f"{path} is not a Seamless store (or is damaged): {e}") from e
    finally:
        conn.close()
    plan = migrations.plan(path, found)
    print(plan.describe())
    if args.dry_run or not plan.steps:
        if args.dry_run and plan.steps:
            print("dry run: nothing was changed")
        return 0
    lock = schema.WriterLock(path)  # refused while a Store has the file open
    try:
        conn = sqlite3.connect(str(path), timeout=schema.BUSY_TIMEOUT_S, isolation_level=None)
        try:
            found = schema.check_version(conn, path)
            done = migrations.migrate(conn, path, found)
        finally:
            conn.close()
    finally:
        lock.release()
    if done.steps:
        print(f"migrated to schema version {done.to_version}; backup: {done.backup}")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    if args.what == "store":
        from .bench.store import main as bench_store
        return bench_store(as_json=args.json, scale=args.scale, directory=args.dir)
    if args.what == "engine":
        from .bench.engine import main as bench_engine
        return bench_engine(as_json=args.json, scale=args.scale, directory=args.dir)
    if args.what == "push":
        from .bench.push import main as bench_push
        tabs = tuple(args.tabs) if args.tabs else (1, 10, 25)
        return bench_push(as_json=args.json, tab_counts=tabs, directory=args.dir)
    raise SeamlessError(f"unknown benchmark {args.what!r}")


def _open_broker(path: str) -> "PaperBroker":
    """The paper broker at ``path``; a missing file is an error, not a new broker with fresh cash."""
    from .brokers import PaperBroker
    if not Path(path).is_file():
        raise SeamlessError(f"no paper broker database at {path}")
    return PaperBroker(path)


def cmd_broker_positions(args: argparse.Namespace) -> int:
    with _open_broker(args.broker_db) as broker:
        positions = broker.positions()
        account = broker.account()
    if args.json:
        json.dump({s: {"qty": p.qty, "avg_price": p.avg_price} for s, p in positions.items()}, sys.stdout,
                  separators=(",", ":"))
        print()
        return 0
    print(f"{args.broker_db}  cash {account.cash:.2f}  equity {account.equity:.2f}")
    if not positions:
        print("  no open positions")
    for sym, p in sorted(positions.items()):
        print(f"  {sym:<8} qty {p.qty:>12g}  avg {p.avg_price:>10.4f}")
    return 0


def cmd_broker_trade(args: argparse.Namespace) -> int:
    with _open_broker(args.broker_db) as broker:
        f = broker.trade(args.symbol, args.qty, args.price)
    print(f"{f.trade_id}  {f.symbol}  {'BUY' if f.qty > 0 else 'SELL'} {abs(f.qty):g} @ {f.price:.4f}  "
          f"commission {f.commission:.2f}  cursor {f.cursor}")
    return 0


def cmd_reconcile(args: argparse.Namespace) -> int:
    from .engine.runner import default_broker_db
    from .reconcile import Reconciler
    from .store import Store

    if not Path(args.db).is_file():
        raise SeamlessError(f"no store database at {args.db}")
    broker = _open_broker(args.broker_db or default_broker_db(args.db))
    try:
        store = Store(args.db)
        try:
            report = Reconciler(store, broker).run(dry_run=args.dry_run)
        finally:
            store.close()
    finally:
        broker.close()
    if args.json:
        print(report.to_json())
    else:
        print(f"{report.run_id}{' (dry run)' if report.dry_run else ''}: {len(report.findings)} finding(s), "
              f"{'store and broker agree' if report.ok else f'{len(report.remaining)} mismatch(es) left'}"
              f"{', escalated' if report.escalated else ''}")
        for f, r in zip(report.findings, report.resolutions):
            print(f"  {f.kind:<28} {f.subject:<16} store {f.store_value} | broker {f.broker_value} -> {r}")
    return 0 if report.ok else 1


def cmd_run(args: argparse.Namespace) -> int:
    import signal

    from .brokers import PaperBroker
    from .engine.risk import RiskLimits
    from .engine.runner import Runner, default_broker_db, resume_prices, resume_ts, strategies_for
    from .feeds import ReplayFeed, SimFeed
    from .feeds.sim import DEFAULT_START_TS
    from .store import Store

    store = Store(args.db)
    broker = None
    try:
        if args.feed == "sim":  # a restart goes on from the store's last prices and exchange time
            symbols = args.symbols or ("AAPL", "MSFT", "GOOG", "IBM")
            feed = SimFeed(symbols=symbols, seed=args.seed, volatility=args.volatility,
                           start_ts=resume_ts(store) or DEFAULT_START_TS,
                           start_prices=resume_prices(store, symbols) or None)
        else:
            feed = ReplayFeed(source=args.replay_file, symbols=args.symbols or None)
        broker = PaperBroker(args.broker_db or default_broker_db(args.db))
        limits = RiskLimits(daily_loss_limit=args.daily_loss_limit, max_position=args.max_position)
        from .reconcile import ReconcilePolicy
        runner = Runner(store, broker, feed, strategies_for(args.strategy, feed.symbols), limits,
                        speed=args.speed, stop_loss_pct=args.stop_loss_pct,
                        take_profit_pct=args.take_profit_pct, trailing_pct=args.trailing_pct,
                        reconcile=None if args.no_reconcile else
                        ReconcilePolicy(interval_s=args.reconcile_interval))
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: runner.stop())
        runner.run(duration=args.duration, max_ticks=args.max_ticks)
    finally:
        if broker is not None:
            broker.close()
        store.close()  # flushes and writes a snapshot
    bad = ", ".join(f"{k} {v}" for k, v in sorted(runner.rejected.items())) or "none"
    print(f"stopped at seq {store.seq}: {runner.ticks} ticks, bad ticks rejected: {bad}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="seamless", description="Live-trading state done right.")
    p.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("state", help="print the current state of a store (read-only)")
    s.add_argument("--db", required=True, help="the store's SQLite file")
    s.add_argument("--json", action="store_true", help="one JSON object")
    s.set_defaults(fn=cmd_state)

    s = sub.add_parser("replay", help="rebuild the state as of a seq or a time (read-only)")
    s.add_argument("--db", required=True)
    s.add_argument("--until", help="sequence number, or ISO time such as 2026-11-25T14:30:00")
    s.add_argument("--no-snapshots", action="store_true", help="replay the whole journal")
    s.add_argument("--json", action="store_true")
    s.set_defaults(fn=cmd_replay)

    s = sub.add_parser("migrate", help="migrate a store to this Seamless's schema version "
                                       "(a backup first; stores also migrate when opened for writing)")
    s.add_argument("--db", required=True, help="the store's SQLite file")
    s.add_argument("--dry-run", action="store_true", help="show the plan (versions, steps, backup name); change nothing")
    s.set_defaults(fn=cmd_migrate)

    s = sub.add_parser("bench", help="measure; prints figures")
    s.add_argument("what", choices=["store", "engine", "push"])
    s.add_argument("--json", action="store_true")
    s.add_argument("--scale", type=float, default=1.0, help="fraction of the full event counts")
    s.add_argument("--dir", default=None, help="directory on the disk to measure (default: temp)")
    s.add_argument("--tabs", type=int, nargs="+", help="push: browser tab counts (default: 1 10 25)")
    s.set_defaults(fn=cmd_bench)

    s = sub.add_parser("run", help="run the strategies headless against a broker and a feed")
    s.add_argument("--db", required=True, help="the store's SQLite file (created if new)")
    s.add_argument("--broker", choices=["paper"], default="paper")
    s.add_argument("--broker-db", help="the paper broker's file (default: beside the store, .broker)")
    s.add_argument("--feed", choices=["sim", "replay"], default="sim")
    s.add_argument("--replay-file", help="CSV or Parquet OHLC file (default: bokeh-sampledata stocks)")
    s.add_argument("--symbols", nargs="+")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--strategy", nargs="+", default=["ma_cross"], help="ma_cross, breakout")
    s.add_argument("--speed", type=float, default=None, help="exchange seconds per second; 0 = flat out")
    s.add_argument("--volatility", type=float, default=0.2, help="sim feed annualized volatility")
    s.add_argument("--duration", type=float, help="seconds to run (default: until stopped)")
    s.add_argument("--max-ticks", type=int)
    s.add_argument("--daily-loss-limit", type=float, default=5_000.0)
    s.add_argument("--max-position", type=float, default=1_000.0)
    s.add_argument("--stop-loss-pct", type=float, help="protective stop on each new position (0.02 = 2%%)")
    s.add_argument("--take-profit-pct", type=float, help="take-profit on each new position")
    s.add_argument("--trailing-pct", type=float, help="trailing stop on each new position")
    s.add_argument("--reconcile-interval", type=float, default=30.0, help="seconds between reconciliations")
    s.add_argument("--no-reconcile", action="store_true", help="no reconciliation with the broker")
    s.set_defaults(fn=cmd_run)

    s = sub.add_parser("reconcile", help="reconcile a store with its broker; exit 1 if a mismatch is left")
    s.add_argument("--db", required=True, help="the store's SQLite file")
    s.add_argument("--broker-db", help="the paper broker's file (default: beside the store, .broker)")
    s.add_argument("--dry-run", action="store_true", help="compare only; journal nothing")
    s.add_argument("--json", action="store_true", help="one JSON object: findings and resolutions")
    s.set_defaults(fn=cmd_reconcile)

    s = sub.add_parser("broker", help="a paper broker's own database (the venue, not the store)")
    bsub = s.add_subparsers(dest="broker_command", required=True)
    b = bsub.add_parser("positions", help="the broker's open positions")
    b.add_argument("--broker-db", required=True, help="the paper broker's SQLite file")
    b.add_argument("--json", action="store_true", help="one JSON object: symbol -> {qty, avg_price}")
    b.set_defaults(fn=cmd_broker_positions)
    b = bsub.add_parser("trade", help="trade at the broker by hand (out of band: no runner order)")
    b.add_argument("--broker-db", required=True, help="the paper broker's SQLite file")
    b.add_argument("--symbol", required=True)
    b.add_argument("--qty", required=True, type=float, help="signed: > 0 buys, < 0 sells")
    b.add_argument("--price", type=float, default=None, help="default: the broker's last mark")
    b.set_defaults(fn=cmd_broker_trade)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.fn(args)
    except SeamlessError as e:
        print(f"seamless: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
