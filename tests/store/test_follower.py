"""A Follower tails a store another process writes; the dashboard's views work on it."""

from __future__ import annotations

import subprocess

from seamless.replay import replay
from seamless.store import Follower
from seamless.views.notebook import LiveViews


def test_follower_tracks_a_runner_in_another_process(tmp_path, seamless_cmd, seamless_run):
    db = tmp_path / "s.db"
    # Create the store first (the follower opens an existing file), then trade while following.
    seamless_run("run", "--db", str(db), "--max-ticks", "200", "--speed", "0", check=True)
    follower = Follower(db)
    start = follower.seq
    seen: list[int] = []
    follower.bus.subscribe("*", lambda ev: seen.append(ev.seq), queued=False)
    proc = subprocess.Popen(
        [*seamless_cmd, "run", "--db", str(db), "--max-ticks", "3000", "--speed", "0", "--seed", "3"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    polled_while_running = 0
    while proc.poll() is None:
        polled_while_running += follower.poll()
    assert proc.returncode == 0, proc.stderr.read()
    follower.poll()
    try:
        assert polled_while_running > 0, "the follower saw nothing while the runner wrote"
        assert seen == list(range(start + 1, follower.seq + 1)), "every event published once, in order"
        final = replay(db)
        state = final.state()
        assert follower.seq == final.seq
        assert follower.state.positions.by_symbol == state.positions.by_symbol
        assert follower.state.account.equity == state.account.equity
        assert follower.state.orders.fills == state.orders.fills
    finally:
        follower.close()


def test_live_views_show_the_store(tmp_path, seamless_run):
    db = tmp_path / "s.db"
    seamless_run("run", "--db", str(db), "--max-ticks", "3000", "--speed", "0", check=True)
    live = LiveViews(db)
    try:
        live.refresh()
        overview, market, recon, events, system = live.views
        held = {s: p.qty for s, p in live.follower.state.positions.by_symbol.items() if p.qty}
        assert held, "the run left no position: nothing to compare"
        assert dict(zip(overview.positions.value["symbol"], overview.positions.value["qty"])) == held
        assert set(market.quotes.value["symbol"]) == set(live.follower.state.market.quotes)
        every = sorted(f.seq for f in live.follower.state.orders.fills)
        shown = sorted(overview.fills.value["seq"])
        assert shown == every[-len(shown) :], "the most recent fills, every one of them"
        assert min(len(every), overview.RECENT_FILLS) <= len(shown) <= overview.RECENT_FILLS * 1.2
        assert recon.runs.value["run"].iloc[0] == live.follower.state.reconcile.run_id
        assert events.tail.value["seq"].iloc[-1] <= live.follower.seq and len(events.tail.value)
        assert all(not v.panel.loading for v in live.views), "every view filled"
    finally:
        live.close()
