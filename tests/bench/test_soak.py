"""The soak benchmark, short: ninety seconds of a real dashboard server with a broker outage,
market-data gaps, two kill -9 restarts and a full disk, probed once a second."""

from __future__ import annotations

from seamless.bench.soak import run


def test_ninety_seconds_of_faults_lose_nothing_and_readyz_names_each(tmp_path):
    res = run(minutes=1.5, directory=str(tmp_path), gap_every_s=20.0, gap_s=8.0)
    assert res["acknowledged_lost"] == 0, res
    assert res["restarts"] == 3 and res["restarts_store_equals_broker"] == 2, res  # the clean ones
    assert len(res["ready_after_restart_s"]) == 2, res  # both clean restarts became ready
    assert res["faults_named"] == {"broker_outage": True, "disk_full": True}, res
    assert res["feed_gaps_seen"] >= 1, res
    assert res["probes"] >= 75 and res["readyz_judged"] > 0, res  # one a second, down times included
