"""A dashboard that cannot start says why, as one line, in the page and in the log, and
creates nothing: a real `panel serve app.py` per bad setting or input."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from seamless.bench.push import serve


def bad_inputs(tmp_path):
    binary = tmp_path / "bars.csv"
    binary.write_bytes(bytes(range(256)) * 8)
    missing = tmp_path / "missing.csv"
    return [
        ({"SEAMLESS_DB": str(tmp_path / "no" / "x.db")}, f"SEAMLESS_DB='{tmp_path / 'no' / 'x.db'}': directory"),
        ({"SEAMLESS_DB": str(tmp_path)}, f"SEAMLESS_DB='{tmp_path}': is a directory"),
        (
            {"SEAMLESS_STRATEGIES": "nope"},
            "SEAMLESS_STRATEGIES='nope': unknown strategy 'nope'; known: breakout, ma_cross",
        ),
        (
            {"SEAMLESS_FEED": "replay", "SEAMLESS_REPLAY_FILE": str(missing)},
            f"SEAMLESS_REPLAY_FILE='{missing}': no such file",
        ),
        ({"SEAMLESS_FEED": "replay", "SEAMLESS_REPLAY_FILE": str(binary)}, f"{binary}"),
    ]


@pytest.mark.parametrize("case", range(5))
def test_a_bad_setting_is_a_banner_and_a_log_line(tmp_path, case, browser):
    env, says = bad_inputs(tmp_path)[case]
    work = tmp_path / "work"
    served = serve(work=work, env=env, timeout_s=60)
    try:
        for _ in range(2):  # every session, not just the first, says so
            page = browser.new_page()
            try:
                page.goto(served.url)
                banner = page.locator(".alert-danger")
                expect(banner).to_contain_text("Seamless cannot start: " + says, timeout=30_000)
            finally:
                page.close()
        log = served.stderr_text()
        assert log.count("Seamless cannot start: ") == 1, log  # logged once, not per session
        assert says in log
    finally:
        served.close()
    assert not (work / "store.db").exists() and not (work / "store.broker.db").exists()
