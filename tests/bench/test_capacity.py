"""``seamless bench capacity`` at N=10, short: ten raw Bokeh sessions in a process of their own and
one real Chromium tab on a real dashboard server. The figures are printed; what is asserted is
that the sessions speak enough of the protocol to be live sessions: each received every critical
event (none missed), answered the flow control, and the tab toasted every event too."""

from __future__ import annotations

from seamless.bench.capacity import run


def test_ten_raw_sessions_and_a_tab_receive_every_critical_event(browser, tmp_path):
    figures = run((10,), duration_s=10.0, directory=str(tmp_path), browser=browser)
    print("\n" + "\n".join(f"{k:<28} {v}" for k, v in figures.items()))
    assert figures["floor_callback_us"] > 0
    assert figures["events_10"] >= 3  # a trade a second, and the strategy's own fills
    assert figures["session_errors_10"] == 0
    assert figures["sessions_missed_10"] == 0 and figures["tab_missed_10"] == 0
    assert figures["msgs_per_session_s_10"] > 0 and figures["sessions_p99_ms_10"] is not None
    assert figures["server_window_samples_10"] > 0, "the server's own figure covers the window"
    assert 1 <= figures["peak_events_per_s_10"] <= figures["events_10"]
