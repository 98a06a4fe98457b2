"""The dashboard as a trader sees it, in real tabs: a layout that fits (nothing clipped or
overlapping, no empty card, toasts never over a table) at a laptop's and a phone's size, with
a screenshot of every view at both (build/screenshots/); controls enabled only when they
apply; flatten all leaving trading halted and the book flat; the chart's fill markers equal
to the journal's fills; preferences kept across a reload and a server restart.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from seamless.analysis import events_frame
from seamless.bench.push import PANEL_LIVE_JS, _local_only
from seamless.store import Follower

from .test_dashboard import LOCAL, SHOW_TOASTS_JS, T, _start, _stop, button, journal, show_tab, trading_state

REPO = Path(__file__).resolve().parents[2]
SHOTS = REPO / "build" / "screenshots"
SIZES = {"laptop": (1366, 768), "wide": (1920, 1080), "phone": (390, 844)}
TABS = ("Overview", "Market", "Reconciliation", "Events", "System")


@pytest.fixture(autouse=True)
def _patient_expect():
    expect.set_options(timeout=T)
    yield
    expect.set_options(timeout=5_000)


@pytest.fixture(scope="module")
def trading(tmp_path_factory):
    """A server whose strategy trades within seconds (ma_cross on ticks, at the sim's pace)."""
    served = _start(tmp_path_factory.mktemp("face"), {"SEAMLESS_SPEED": "1", "SEAMLESS_MAX_RATE": "2"})
    yield served
    _stop(served, show_log=not served.alive() or "Traceback" in served.stderr_text())


@pytest.fixture
def servers(request, tmp_path):
    started = []

    def start(work: Path | None = None, **env: str):
        served = _start(work or tmp_path / f"server{len(started)}", env)
        started.append(served)
        return served

    yield start
    failed = any(getattr(getattr(request.node, f"rep_{w}", None), "failed", False) for w in ("setup", "call"))
    for served in started:
        if served.alive():
            _stop(served, failed)


@pytest.fixture
def contexts(browser):
    made = []

    def new(**options):
        context = browser.new_context(**options)
        context.route("**/*", _local_only)
        made.append(context)
        return context

    yield new
    for context in made:
        try:
            context.close()
        except Exception:  # the browser may be gone already
            pass


def open_page(context, url: str):
    page = context.new_page()
    page.set_default_timeout(T)
    page.goto(url, wait_until="commit", timeout=T * 2)
    page.wait_for_function(PANEL_LIVE_JS, timeout=T * 2, polling=100)
    return page


def boxes(page, selector: str) -> list[dict]:
    """The bounding boxes of the visible elements matching ``selector`` (shadow roots too)."""
    out = []
    for el in page.locator(selector).all():
        if el.is_visible():
            box = el.bounding_box()
            if box and box["width"] > 0 and box["height"] > 0:
                out.append(box)
    return out


def overlap(a: dict, b: dict) -> float:
    w = min(a["x"] + a["width"], b["x"] + b["width"]) - max(a["x"], b["x"])
    h = min(a["y"] + a["height"], b["y"] + b["height"]) - max(a["y"], b["y"])
    return max(0.0, w) * max(0.0, h)


# Each kind of element: none may leave the viewport's width, and none may overlap another of
# its kind (two KPI tiles, two buttons, two tables on top of each other).
KINDS = {
    "header state": "#header .st",
    "button": "#sidebar .bk-btn",
    "KPI": ".seamless-kpi",
    "table": ".tabulator",
    "chart": ".bk-Canvas",
}
# Only kept inside the window (a button group's buttons share their borders).
CLIP_ONLY = {"view control": "#main .bk-btn, #main select, #main input"}


NEXT_FRAMES = "() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))"


def lasting_layout_problems(page, where: str, within_s: float = 3.0) -> list[str]:
    """The layout's problems that last: a view shown a moment ago has its tables sized again
    a few frames later (read mid-way, one overlapped the next by 2 px), so what is found is
    looked at again, frames later, until it is gone or ``within_s`` has passed."""
    deadline = time.monotonic() + within_s
    while True:
        problems = layout_problems(page, where)
        if not problems or time.monotonic() > deadline:
            return problems
        page.evaluate(NEXT_FRAMES)


def layout_problems(page, where: str) -> list[str]:
    width = page.viewport_size["width"]
    problems = []
    scroll = page.evaluate("() => document.documentElement.scrollWidth")
    if scroll > width + 1:
        problems.append(f"{where}: the page is {scroll} px wide in a {width} px window")
    for kind, selector in {**KINDS, **CLIP_ONLY}.items():
        found = boxes(page, selector)
        for b in found:
            if b["x"] < -1 or b["x"] + b["width"] > width + 1:
                problems.append(f"{where}: a {kind} is clipped: x {b['x']:.0f}..{b['x'] + b['width']:.0f} of {width}")
        if kind in CLIP_ONLY:
            continue
        for i, a in enumerate(found):
            for b in found[i + 1 :]:
                if overlap(a, b) > 1:
                    problems.append(f"{where}: two {kind}s overlap: {a} {b}")
    cards = boxes(page, "#main .card-margin")
    if len(cards) != 1 or cards[0]["height"] < 200:
        problems.append(f"{where}: expected one card holding the tabs, found {cards}")
    return problems


def clipped(box: dict, clip: dict | None) -> dict | None:
    """The part of ``box`` inside ``clip`` (a scrolling container's box); None if nothing."""
    if clip is None:
        return box
    x, y = max(box["x"], clip["x"]), max(box["y"], clip["y"])
    w = min(box["x"] + box["width"], clip["x"] + clip["width"]) - x
    h = min(box["y"] + box["height"], clip["y"] + clip["height"]) - y
    return {"x": x, "y": y, "width": w, "height": h} if w > 0 and h > 0 else None


# What toasts may never cover: the tables, the charts, and the sidebar's controls and settings.
DATA = ".tabulator, .bk-Canvas, #sidebar .bk-btn, #sidebar select, .seamless-settings, .seamless-who"


def settled(page) -> None:
    """Wait until no CSS transition runs (the sidebar closing slides the content): boxes read
    mid-way are neither the layout before nor after."""
    page.wait_for_function(
        "() => document.getAnimations().every((a) => !(a instanceof CSSTransition) || a.playState !== 'running')",
        timeout=T,
    )


def toasts_over_data(page, where: str) -> list[str]:
    """Shows four long toasts the way the server sends them, then checks each against every
    table, chart, control and setting (each as much of it as shows: the sidebar scrolls)."""
    items = [[10_000_000 + i, "info", f"Toast {i}: " + "a long message to take room " * 3, 60_000] for i in range(4)]
    assert page.evaluate(SHOW_TOASTS_JS, items) is not None, "no Toasts model in the page"
    expect(page.locator(".seamless-toast")).to_have_count(4)
    settled(page)
    # what shows of the sidebar: its box (none when closed) and its scrolling list's
    side, listed = page.locator("#sidebar").bounding_box(), page.locator("#sidebar > ul").bounding_box()
    shown = clipped(listed, side) if side and listed else None
    toasts = boxes(page, ".seamless-toast")
    inside = [clipped(b, shown) for b in boxes(page, f"#sidebar :is({DATA})")] if shown else []
    data = inside + boxes(page, f"#main :is({DATA})")
    assert len(toasts) == 4 and data and (inside or not shown), (toasts, data, shown)
    width, height = page.viewport_size["width"], page.viewport_size["height"]
    # Wide, at the sidebar's foot: in sight. (Narrow, they lead the content, under the sidebar.)
    off = [t for t in toasts if t["y"] + t["height"] > height + 1] if width > 700 else []
    problems = [f"{where}: a toast is off the window: {t}" for t in off]
    covered = [(t, b) for t in toasts for b in data if b and overlap(t, b) > 1]
    return problems + [f"{where}: a toast covers data: {t} {b}" for t, b in covered]


def show(page, title: str) -> None:
    """Open tab ``title`` and wait until the last tab's view has left the page (its boxes would
    count otherwise)."""
    show_tab(page, title)
    expect(page.locator(f".seamless-{title.lower()}view")).to_be_visible()
    for other in TABS:
        if other != title:
            expect(page.locator(f".seamless-{other.lower()}view")).to_be_hidden()


@pytest.mark.parametrize("size", list(SIZES))
def test_every_view_fits_without_clipping_overlap_or_empty_cards(trading, contexts, size):
    w, h = SIZES[size]
    page = open_page(contexts(viewport={"width": w, "height": h}), trading.url)
    SHOTS.mkdir(parents=True, exist_ok=True)
    problems = []
    # the data each view shows is there before it is judged (and photographed)
    page.wait_for_function("() => document.querySelector('.seamless-toasts') !== null", timeout=T)
    for title in TABS:
        show(page, title)
        expect(page.locator(".tabulator").first).to_be_visible()
        if title in ("Overview", "Market", "System"):
            expect(page.locator(".bk-Canvas").first).to_be_visible()
        problems += lasting_layout_problems(page, f"{size} {title}")
        page.screenshot(path=str(SHOTS / f"{w}x{h}-{title.lower()}.png"), full_page=True)
    for title in ("Overview", "Events"):
        show(page, title)
        problems += toasts_over_data(page, f"{size} {title}")
    assert not problems, "\n".join(problems)
    if w > 700:  # the sidebar closed (its button in the header): the toasts lead the content
        page.locator("#sidebar-button").click()
        expect(page.locator("#main > .seamless-toasts")).to_be_visible()
        problems += toasts_over_data(page, f"{size} sidebar closed")
    assert not problems, "\n".join(problems)
    # the helpers the page needs take no room: nothing of theirs is visible
    for helper in ("#seamless_table_guard", "#seamless_toasts", "#seamless_ack", "#seamless_viewer"):
        assert not page.locator(helper).is_visible()


ALL = (
    "seamless-cmd-start",
    "seamless-cmd-pause",
    "seamless-cmd-resume",
    "seamless-cmd-stop",
    "seamless-cmd-halt",
    "seamless-cmd-resume_trading",
    "seamless-ask-reset_breach",
)


def expect_enabled(page, enabled: set[str]) -> None:
    for css in ALL:
        if css in enabled:
            expect(button(page, css)).to_be_enabled()
        else:
            expect(button(page, css)).to_be_disabled()


def test_each_control_is_enabled_only_in_the_states_it_applies_to(servers, contexts):
    served = servers(SEAMLESS_SPEED="0.1", SEAMLESS_AUTOSTART="0", SEAMLESS_MAX_RATE="2")
    a = open_page(contexts(), served.url)
    b = open_page(contexts(), served.url)
    runner = a.locator(".seamless-runner-status")
    expect(runner).to_have_attribute("data-value", "STOPPED")
    expect_enabled(a, {"seamless-cmd-start", "seamless-cmd-halt"})
    expect(button(a, "seamless-ask-flatten")).to_be_disabled()  # no position to flatten

    button(a, "seamless-cmd-start").click()
    expect(runner).to_have_attribute("data-value", "RUNNING")
    expect_enabled(a, {"seamless-cmd-pause", "seamless-cmd-stop", "seamless-cmd-halt"})
    expect(a.locator(".seamless-runner-outcome")).to_contain_text("Start: done")

    button(a, "seamless-cmd-pause").click()
    expect(runner).to_have_attribute("data-value", "PAUSED")
    expect_enabled(a, {"seamless-cmd-resume", "seamless-cmd-stop", "seamless-cmd-halt"})
    expect(a.locator(".seamless-runner-outcome")).to_contain_text("Pause: done")
    button(a, "seamless-cmd-resume").click()
    expect(runner).to_have_attribute("data-value", "RUNNING")

    # Trading is apart from the runner: halted, the runner runs on.
    button(a, "seamless-cmd-halt").click()
    expect(trading_state(a)).to_have_attribute("data-value", "HALTED")
    expect(runner).to_have_attribute("data-value", "RUNNING")
    expect_enabled(a, {"seamless-cmd-pause", "seamless-cmd-stop", "seamless-cmd-resume_trading"})
    outcome = a.locator(".seamless-trading-outcome")
    expect(outcome).to_contain_text("Halt trading: done")
    # Resumed from another tab: the outcome in this one is no longer true, and goes.
    button(b, "seamless-cmd-resume_trading").click()
    expect(trading_state(a)).to_have_attribute("data-value", "ACTIVE")
    expect(outcome).to_be_hidden()
    expect_enabled(a, {"seamless-cmd-pause", "seamless-cmd-stop", "seamless-cmd-halt"})

    button(a, "seamless-cmd-stop").click()
    expect(runner).to_have_attribute("data-value", "STOPPED")
    expect_enabled(a, {"seamless-cmd-start", "seamless-cmd-halt"})
    expect_enabled(b, {"seamless-cmd-start", "seamless-cmd-halt"})
    by = journal(served.db, ["runner.status"], lambda df: (df["status"] == "STOPPED").any())
    assert "HALTED" not in set(by["status"]), by[["seq", "status", "by"]]


def positions_and_state(follower: Follower) -> tuple[dict[str, float], str]:
    follower.poll()
    s = follower.state
    return {k: p.qty for k, p in s.positions.by_symbol.items() if p.qty}, s.risk.trading_state


def test_flatten_all_halts_trading_and_the_book_stays_flat(servers, contexts):
    served = servers(SEAMLESS_SPEED="1", SEAMLESS_MAX_RATE="2")
    page = open_page(contexts(), served.url)
    ask = button(page, "seamless-ask-flatten")
    expect(ask).to_be_enabled()  # the strategy holds positions
    ask.click()
    button(page, "seamless-cmd-flatten").click()
    expect(trading_state(page)).to_have_attribute("data-value", "HALTED")
    expect(page.locator(".seamless-trading-outcome")).to_contain_text("Flatten all: done")
    halted = journal(served.db, ["risk.trading_state"], lambda df: (df["state"] == "HALTED").any())
    assert list(halted["by"]) == [LOCAL] and list(halted["reason"]) == ["flatten all"]
    follower = Follower(served.db)
    try:
        deadline = time.monotonic() + T / 1000
        while (held := positions_and_state(follower))[0]:
            assert time.monotonic() < deadline, f"not flat: {held}"
            time.sleep(0.1)  # another process's file: polled
        flat_at = time.monotonic()
        while time.monotonic() - flat_at < 10.0:  # ten seconds on, still flat and halted
            assert positions_and_state(follower) == ({}, "HALTED")
            time.sleep(0.5)
    finally:
        follower.close()
    expect(page.locator(".seamless-runner-status")).to_have_attribute("data-value", "RUNNING")
    expect(button(page, "seamless-ask-flatten")).to_be_disabled()  # nothing left to flatten
    expect(button(page, "seamless-cmd-resume_trading")).to_be_enabled()


# The chart's fill markers (the ColumnDataSource named "seamless-fill-marks") as the page holds them.
FILL_MARKS_JS = """() => {
  for (const doc of Bokeh.documents) {
    for (const m of doc.all_models) {
      if (m.name === 'seamless-fill-marks') return m.data;
    }
  }
  return null;
}"""


def test_the_charts_fill_markers_are_the_journals_fills(trading, contexts):
    page = open_page(contexts(), trading.url)
    show_tab(page, "Market")
    page.locator(".seamless-bar-size").get_by_role("button", name="1 s").click()
    page.wait_for_function(f"() => {{ const d = ({FILL_MARKS_JS})(); return d && d.seq.length >= 2 }}", timeout=T * 2)
    symbol = page.locator(".seamless-symbol select").input_value()
    marks = page.evaluate(FILL_MARKS_JS)
    last = max(marks["seq"])
    fills = journal(trading.db, ["order.filled"], lambda df: last in set(df["seq"]))
    mine = fills[(fills["symbol"] == symbol) & (fills["seq"] <= last)]
    shown = sorted(zip(marks["seq"], marks["side"], marks["qty"], marks["price"], marks["text"]))
    want = sorted(
        (int(r.seq), "BUY" if r.qty > 0 else "SELL", abs(r.qty), r.price, r.trade_id) for r in mine.itertuples()
    )
    assert shown == want


def prefs_row(db: Path) -> dict:
    path = db.with_name(db.stem + ".prefs.db")
    if not path.exists():
        return {}
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT doc FROM prefs").fetchall()
    except sqlite3.OperationalError:  # not created yet
        return {}
    finally:
        conn.close()
    return json.loads(rows[0][0]) if len(rows) == 1 else {"rows": len(rows)}


def hide_column(page, table: str, column: str) -> None:
    """Pick ``column`` in ``table``'s column picker (which lists the columns it hides)."""
    picker = page.locator(f".seamless-{table}-columns")
    picker.locator("input").click()
    picker.locator(".choices__item--choice", has_text=re.compile(rf"^{column}$")).click()
    page.keyboard.press("Escape")


def header(page, table: str, column: str):
    return page.locator(f'.seamless-{table} .tabulator-col[tabulator-field="{column}"]')


def test_preferences_are_restored_after_a_reload_and_a_server_restart(servers, contexts, tmp_path):
    """The open tab, the events filter, the chart's bar size, the columns hidden in each table,
    the zone times show in, and the theme come back for the same browser: after a reload, and
    after the server restarts on the same store."""
    served = servers(tmp_path / "first", SEAMLESS_SPEED="0.1", SEAMLESS_MAX_RATE="2")
    context = contexts(timezone_id="Asia/Tokyo")
    page = open_page(context, served.url)
    expect(header(page, "fills", "order")).to_be_hidden()  # the fills' defaults
    expect(header(page, "fills", "symbol")).to_be_visible()
    hide_column(page, "positions", "avg_price")
    expect(header(page, "positions", "avg_price")).to_be_hidden()
    page.locator(".seamless-times select").select_option("my zone (JST)")
    show_tab(page, "Market")
    page.locator(".seamless-bar-size").get_by_role("button", name="5 s").click()
    hide_column(page, "quotes", "bid")
    show_tab(page, "Events")
    hide_column(page, "events", "topic")
    pattern = page.locator(".seamless-event-filter input")
    pattern.fill("order.*")
    pattern.press("Enter")
    want = {
        "tab": 3,
        "events.pattern": "order.*",
        "market.bar": "5 s",
        "columns.positions": ["avg_price"],
        "columns.quotes": ["bid"],
        "columns.events": ["topic"],
        "times": "mine",
    }
    deadline = time.monotonic() + T / 1000
    while not want.items() <= prefs_row(served.db).items():  # written in the background
        assert time.monotonic() < deadline, prefs_row(served.db)
        time.sleep(0.1)
    topics = set(events_frame(served.db)["topic"])
    assert not any("pref" in t for t in topics), "preferences are not account state: never journaled"

    def restored(page) -> None:
        expect(page.locator(".bk-tab.bk-active")).to_have_text("Events")
        expect(page.locator(".seamless-event-filter input")).to_have_value("order.*")
        expect(header(page, "events", "topic")).to_be_hidden()
        expect(header(page, "events", "summary")).to_be_visible()
        expect(header(page, "events", "time")).to_contain_text("time (JST)")
        show_tab(page, "Market")
        expect(page.locator(".seamless-bar-size").get_by_role("button", name="5 s")).to_have_class(
            re.compile(r"\bbk-active\b")
        )
        expect(header(page, "quotes", "bid")).to_be_hidden()
        expect(header(page, "quotes", "ask")).to_be_visible()
        show_tab(page, "Overview")
        expect(header(page, "positions", "avg_price")).to_be_hidden()
        expect(header(page, "positions", "mark")).to_be_visible()
        expect(header(page, "fills", "order")).to_be_hidden()
        show_tab(page, "Events")  # as it was left

    page.reload(wait_until="commit")
    page.wait_for_function(PANEL_LIVE_JS, timeout=T * 2, polling=100)
    restored(page)
    page.close()
    while prefs_row(served.db).get("tab") != 3:  # the Market visit, then Events again, written
        assert time.monotonic() < deadline + T / 1000, prefs_row(served.db)
        time.sleep(0.1)

    _stop(served, show_log=False)
    again = servers(tmp_path / "second", SEAMLESS_DB=str(served.db), SEAMLESS_SPEED="0.1", SEAMLESS_MAX_RATE="2")
    restored(open_page(context, again.url))

    # The theme: the template's switch reloads the page with ?theme=dark; the next visit
    # without it is dark still.
    open_page(context, again.url + "?theme=dark").close()
    switch = open_page(context, again.url).locator("#theme-switch")
    expect(switch).to_be_visible()
    expect(switch).not_to_have_attribute("checked", re.compile(".*"))


def cell(page, table: str, key_field: str, key: str, field: str):
    """The cell ``field`` of the row of ``table`` whose ``key_field`` reads ``key``."""
    row = page.locator(f".{table} .tabulator-row").filter(
        has=page.locator(f'[tabulator-field="{key_field}"]', has_text=re.compile(rf"^{re.escape(key)}$"))
    )
    return row.locator(f'[tabulator-field="{field}"]')


def coloured(locator, colour: str) -> None:
    """The cell's text shows in ``colour`` (its computed CSS colour, awaited: a cell re-renders)."""
    expect(locator).to_have_css("color", colour)


# the views' green, red and ink (#1e8449, #c0392b, #1f3a5f)
GAIN, LOSS, NEUTRAL = "rgb(30, 132, 73)", "rgb(192, 57, 43)", "rgb(31, 58, 95)"


def test_position_pnl_is_green_for_a_gain_and_red_for_a_loss(dashboard, contexts, tmp_path):
    """The overview's positions table (the lean one, patched cell by cell) on a book of a gain
    and a loss: each P&L cell coloured by its sign, and the colour follows a patched value."""
    served = dashboard(Path(__file__).parent / "pnl_app.py", SEAMLESS_DB=str(tmp_path / "book.db"))
    page = open_page(contexts(), served.url)
    gain = cell(page, "seamless-positions", "symbol", "GAIN", "unrealized")
    loss = cell(page, "seamless-positions", "symbol", "LOSS", "unrealized")
    expect(gain).to_have_text("$125.00")
    expect(loss).to_have_text("-$50.00")
    coloured(gain, GAIN)
    coloured(loss, LOSS)
    coloured(cell(page, "seamless-positions", "symbol", "GAIN", "realized"), NEUTRAL)  # $0.00
    page.locator(".test-fall button").click()  # GAIN's price falls under its cost
    expect(gain).to_have_text("-$50.00")
    coloured(gain, LOSS)


def shows_fill_times_in(page, db: Path, zone: str, label: str) -> None:
    """The fills table's time column is titled with ``label`` and its newest fill's time is
    the journal's, in ``zone``."""
    title = page.locator('.seamless-fills .tabulator-col[tabulator-field="time"] .tabulator-col-title')
    expect(title).to_have_text(f"time ({label})")
    # One row's seq and time read together: fills keep arriving, and a row found by its seq a
    # moment later may have left the table's rendered rows.
    row = page.locator(".seamless-fills .tabulator-row").first
    expect(row.locator('[tabulator-field="seq"]')).to_have_text(re.compile(r"^[\d,]+$"))
    deadline, shown, wanted = time.monotonic() + T / 1000, None, None
    while shown is None or shown != wanted:
        assert time.monotonic() < deadline, f"the newest fill's time reads {shown!r}, the journal's {wanted!r}"
        # Null while Tabulator redraws the row (a zone's change re-titles its columns).
        cells = row.evaluate(
            "r => { const c = ['seq', 'time'].map((f) => r.querySelector(`[tabulator-field=\"${f}\"]`));"
            " return c.every((x) => x) ? c.map((x) => x.innerText) : null; }"
        )
        if cells is None or not re.fullmatch(r"[\d,]+", cells[0]):
            continue
        seq_text, shown = cells
        seq = int(seq_text.replace(",", ""))
        fills = journal(db, ["order.filled"], lambda df, seq=seq: seq in set(df["seq"]))
        wanted = fills.loc[fills["seq"] == seq, "ts"].iloc[0].tz_convert(zone).strftime("%H:%M:%S")


def test_times_show_in_the_exchanges_zone_or_the_viewers_labelled(trading, contexts):
    """A viewer in Tokyo sees the tables' times in the exchange's zone (ET) by default, each
    time column's title naming it; chosen, in theirs (JST), in every table; kept on reload."""
    page = open_page(contexts(timezone_id="Asia/Tokyo"), trading.url)
    shows_fill_times_in(page, trading.db, "America/New_York", "ET")
    times = page.locator(".seamless-times select")
    expect(times.locator("option")).to_have_text(["exchange (ET)", "my zone (JST)"])
    times.select_option("my zone (JST)")
    shows_fill_times_in(page, trading.db, "Asia/Tokyo", "JST")
    show_tab(page, "Events")
    events_title = page.locator('.seamless-events .tabulator-col[tabulator-field="time"] .tabulator-col-title')
    expect(events_title).to_have_text("time (JST)")
    expect(page.locator(".seamless-clock")).to_contain_text("JST")  # the header's clock: the viewer's too

    page.reload(wait_until="commit")
    page.wait_for_function(PANEL_LIVE_JS, timeout=T * 2, polling=100)
    expect(times).to_have_value("my zone (JST)")
    expect(events_title).to_have_text("time (JST)")  # the Events tab, open when left
    show_tab(page, "Overview")
    shows_fill_times_in(page, trading.db, "Asia/Tokyo", "JST")
