"""The dashboard in real tabs: live data, pushed alerts, commands, closed tabs, staleness and
who may move money — `panel serve app.py` driven by Debian's headless Chromium.

Four tests share one server (module scope) whose feed runs all along; the fill, loss-limit
and halt tests need a runner started by hand or change the account for good: they get their
own. Nothing here sleeps for a fixed time: the browser side waits with Playwright's
``expect`` / ``wait_for_function``, the journal side polls another process's SQLite file up to a deadline.
"""

from __future__ import annotations

import re
import sqlite3
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from seamless.analysis import events_frame
from seamless.bench.push import PANEL_LIVE_JS, _local_only, serve

REPO = Path(__file__).resolve().parents[2]
SYMBOLS = ("AAPL", "GOOG", "IBM", "MSFT")
LOCAL = "local@127.0.0.1"
# This 2-core machine is shared with other browser tests: a tab may take 10-20 s to load
# and a push a few seconds to show. Waits are generous; a passing run does not wait them out.
T = 30_000  # ms, for Playwright waits
T_S = T / 1000

# Every toast text a page has shown, kept after it is removed (toasts live ~5 s). Installed
# before the page's scripts run; toasts live in document.body (the light DOM).
TOAST_RECORDER_JS = r"""(() => {
  const seen = new Set();
  window.__toasts = [];
  const scan = () => {
    for (const el of document.querySelectorAll('.seamless-toast__message')) {
      const text = (el.textContent || '').trim();
      if (text && !seen.has(text)) { seen.add(text); window.__toasts.push(text); }
    }
  };
  new MutationObserver(scan).observe(document, {childList: true, subtree: true, characterData: true});
})();"""

# The page's uncaught errors (an exception while applying a message leaves the rest of it
# unapplied), for a test to show when what it waits for does not come.
PAGE_ERRORS_JS = r"""(() => {
  window.__pageErrors = [];
  window.addEventListener('error', (e) => window.__pageErrors.push(String(e.message)));
  window.addEventListener('unhandledrejection', (e) => window.__pageErrors.push(String(e.reason)));
})();"""

# The data a Tabulator with css class ``cls`` holds in this page (its Bokeh source, so rows
# scrolled out of the table's virtual DOM count too).
TABLE_DATA_JS = """(cls) => {
  for (const doc of Bokeh.documents) {
    for (const m of doc.all_models) {
      if (m.css_classes && m.css_classes.includes(cls) && m.source) return m.source.data;
    }
  }
  return null;
}"""

# The Tabulator in the page (the one table with css class ``cls``): its rows in load order, each
# compared with the row the server sent (its data source), and the order it shows them in.
TABLE_SHOWN_JS = """(cls) => {
  const found = [];
  const walk = (v) => {
    if (v.model && v.model.css_classes && v.model.css_classes.includes(cls) && v.tabulator) found.push(v);
    for (const c of (v.child_views || [])) walk(c);
  };
  for (const root of (Bokeh.index.roots ? [...Bokeh.index.roots] : Object.values(Bokeh.index))) walk(root);
  if (found.length !== 1) return {found: found.length};
  const table = found[0].tabulator, src = found[0].model.source.data, cols = Object.keys(src);
  const rows = table.getData(), n = src[cols[0]].length;
  const same = (a, b) => a === b || (a !== a && b !== b);
  const matches = rows.length === n && rows.every((r, i) => r._index === i && cols.every((c) => same(r[c], src[c][i])));
  return {found: 1, rows: n, matches, shown: table.getRows("active").map((r) => r.getData())};
}"""


# The push's flow control in the page (seamless.push.ack.BrowserAck): the last update numbered
# by the server, and the last one the page has answered.
ACK_JS = """() => {
  for (const doc of Bokeh.documents) {
    for (const m of doc.all_models) {
      if (m.sent !== undefined && m.seen !== undefined) return {sent: m.sent, seen: m.seen};
    }
  }
  return null;
}"""

# -- fixtures and helpers ---------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _patient_expect():
    """Playwright's ``expect`` waits 5 s by default: too short for this machine under load."""
    expect.set_options(timeout=T)
    yield
    expect.set_options(timeout=5_000)


def _start(work: Path, env: dict[str, str], extra_args=()):
    return serve(REPO / "app.py", work, env={k: str(v) for k, v in env.items()}, cwd=REPO, extra_args=list(extra_args))


def _stop(served, show_log: bool) -> None:
    served.stop()
    if show_log:
        print(
            f"\n--- panel serve (port {served.port}) exited {served.proc.returncode}; stderr ---\n"
            f"{served.stderr_text()[-20_000:]}"
        )
    served.close()


# Bokeh destroys a closed tab's session only after --unused-session-lifetime (default 15 s),
# checked every --check-unused-sessions (17 s): in ms, short for the closed-tab test.
SESSION_FLAGS = ("--check-unused-sessions", "500", "--unused-session-lifetime", "500")


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """One server for the tests that leave the account as they found it: the feed runs all
    along, the market turns stale 1 s after the feed stops, closed sessions go within a second."""
    served = _start(
        tmp_path_factory.mktemp("live"), {"SEAMLESS_SPEED": "0.1", "SEAMLESS_STALE_AFTER": "1"}, SESSION_FLAGS
    )
    yield served
    _stop(served, show_log=not served.alive() or "Traceback" in served.stderr_text())


@pytest.fixture
def own_server(request, tmp_path):
    """``own_server(**env)``: a server for this test only (stopped at teardown, its log shown
    when the test failed)."""
    started = []

    def start(**env):
        served = _start(tmp_path / f"server{len(started)}", env)
        started.append(served)
        return served

    yield start
    failed = any(getattr(getattr(request.node, f"rep_{w}", None), "failed", False) for w in ("setup", "call"))
    for served in started:
        _stop(served, failed)


@pytest.fixture
def open_tabs(browser):
    """``open_tabs(url, n=1, **context_options)``: n tabs, each in its own context, loaded side
    by side and returned once Panel is live in every one; each records its toasts. All are
    closed at teardown."""
    contexts = []

    def open_(url: str, n: int = 1, **context_options):
        pages = []
        for _ in range(n):
            context = browser.new_context(**context_options)
            contexts.append(context)
            context.route("**/*", _local_only)
            context.add_init_script(TOAST_RECORDER_JS)
            context.add_init_script(PAGE_ERRORS_JS)
            page = context.new_page()
            page.set_default_timeout(T)
            page.goto(url, wait_until="commit", timeout=T * 2)
            pages.append(page)
        for page in pages:
            page.wait_for_function(PANEL_LIVE_JS, timeout=T * 2, polling=100)
        return pages

    yield open_
    for context in contexts:
        try:
            context.close()
        except Exception:  # the browser may be gone already; nothing left to free
            pass


def show_tab(page, title: str) -> None:
    tab = page.locator(".bk-tab").filter(has_text=re.compile(rf"^\s*{title}\s*$"))
    tab.click()
    expect(tab).to_have_class(re.compile(r"\bbk-active\b"))


def toasts(page) -> list[str]:
    return page.evaluate("() => window.__toasts")


def wait_toast(pages, pattern: str, timeout_s: float = T_S) -> list[int]:
    """The seqs (``#N``) of toasts matching ``pattern`` that every page in ``pages`` showed,
    once there is at least one (fails after ``timeout_s``)."""
    rx = re.compile(pattern)
    deadline = time.monotonic() + timeout_s
    while True:
        per_page = [{int(m.group("seq")) for t in toasts(p) if (m := rx.search(t))} for p in pages]
        common = set.intersection(*per_page)
        if common:
            return sorted(common)
        assert time.monotonic() < deadline, (
            f"no toast /{pattern}/ common to all {len(pages)} tabs in {timeout_s} s: {[toasts(p) for p in pages]}"
        )
        pages[0].wait_for_timeout(100)  # let the pages run (they are polled, not awaited)


def journal(db, topics, until=lambda df: len(df) > 0, timeout_s: float = T_S, what: str = ""):
    """events_frame(db, topics) once ``until(frame)`` holds (the server writes it: poll it)."""
    deadline = time.monotonic() + timeout_s
    while True:
        df = events_frame(db, topics=topics)
        if until(df):
            return df
        assert time.monotonic() < deadline, f"journal: {what or topics} not there in {timeout_s} s:\n{df.tail(10)}"
        time.sleep(0.1)  # another process's file: nothing to await


def table_data(page, cls: str) -> dict:
    return page.evaluate(TABLE_DATA_JS, cls) or {}


def figure(page, name: str):
    """A locator for the value of row ``name`` of the System tab's figures table."""
    row = page.locator(".seamless-system .tabulator-row").filter(
        has=page.locator('[tabulator-field="figure"]', has_text=re.compile(rf"^{re.escape(name)}$"))
    )
    return row.locator('[tabulator-field="value"]')


def read_attached(locator, js: str):
    """``js(element)`` for the element ``locator`` finds, read in one moment while it is in the
    page. A live HTML's content is replaced whole at each update: an element replaced between
    being found and being read is detached, and a detached element has no computed style."""
    for _ in range(100):
        got = locator.evaluate(f"el => el.isConnected ? ({js})(el) : null")
        if got is not None:
            return got
    raise AssertionError(f"{locator} was replaced before each of 100 reads")


def button(page, css: str):
    return page.locator(f".{css} button")


def trading_state(page):
    return page.locator(".seamless-trading-state")


# -- the tests ---------------------------------------------------------------------------------

# Tests on a server of their own first: the shared one then runs only while it is used.


def test_a_fill_shows_in_two_tabs(own_server, open_tabs):
    # The strategy may send 60 orders per exchange minute (10 min of wall time at this speed):
    # a runner started with the server could be done trading before two tabs are up.
    served = own_server(SEAMLESS_SPEED="0.1", SEAMLESS_AUTOSTART="0")
    a, b = open_tabs(served.url, 2)
    expect(a.locator(".seamless-runner-status")).to_have_attribute("data-value", "STOPPED")
    button(a, "seamless-cmd-start").click()
    seqs = wait_toast([a, b], r"^Fill #(?P<seq>\d+): (BUY|SELL) [\d,]+ [A-Z]+ @ [\d,.]+$")
    seq = seqs[-1]
    fills = journal(served.db, ["order.filled"], lambda df: seq in set(df["seq"]), what=f"order.filled #{seq}")
    fill = fills[fills["seq"] == seq].iloc[0]
    trade_id = fill["trade_id"]
    assert trade_id
    for page in (a, b):  # the toast names the journaled fill, and the table has its trade
        text = next(t for t in toasts(page) if t.startswith(f"Fill #{seq}:"))
        assert f" {fill['symbol']} @ " in text, (text, fill["payload"])
        page.wait_for_function(
            f"() => ({TABLE_DATA_JS})('seamless-fills').trade_id.includes({trade_id!r})", timeout=T, polling=100
        )
        # flow control: the page answered every update the fills sent past the rate limit
        answered = f"() => {{ const a = ({ACK_JS})(); return a && a.sent > 0 && a.seen === a.sent }}"
        page.wait_for_function(answered, timeout=T, polling=100)


def test_a_loss_limit_breach_alerts_every_tab(own_server, open_tabs):
    served = own_server(
        SEAMLESS_SPEED="0.1", SEAMLESS_AUTOSTART="0", SEAMLESS_DAILY_LOSS_LIMIT="1", SEAMLESS_VOLATILITY="1.0"
    )
    a, b = open_tabs(served.url, 2)
    for page in (a, b):
        expect(trading_state(page)).to_have_attribute("data-value", "ACTIVE")
    assert events_frame(served.db, topics=["risk.daily_loss_breached"]).empty  # nothing before Start
    button(a, "seamless-cmd-start").click()

    seqs = wait_toast(
        [a, b], r"^Daily loss limit breached #(?P<seq>\d+): loss \$[\d,.]+ over limit \$1\.00", timeout_s=60
    )
    breaches = journal(served.db, ["risk.daily_loss_breached"])
    assert list(breaches["seq"]) == seqs, (breaches[["seq", "loss", "limit"]], seqs)
    assert breaches.iloc[0]["loss"] > breaches.iloc[0]["limit"] == 1.0
    for page in (a, b):
        expect(trading_state(page)).to_have_attribute("data-value", "HALTED")
        expect(page.locator(".seamless-toast", has_text=f"#{seqs[0]}")).to_be_visible()  # stays until resolved
        expect(page.locator(".seamless-runner-status")).to_have_attribute("data-value", "RUNNING")  # apart


def test_halt_button_halts_trading_in_every_tab(own_server, open_tabs):
    served = own_server(SEAMLESS_SPEED="0.01", SEAMLESS_MAX_RATE="2")  # a light page: the click is the point
    a, b = open_tabs(served.url, 2)
    halt = button(a, "seamless-cmd-halt")
    for page in (a, b):
        expect(trading_state(page)).to_have_attribute("data-value", "ACTIVE")
    expect(halt).to_be_enabled()
    # Every class the button's Panel element takes from now on (its loading state is a class).
    host = a.locator(".seamless-cmd-halt")
    host.evaluate("""(el) => {
      window.__haltClasses = [el.className];
      new MutationObserver(() => window.__haltClasses.push(el.className))
        .observe(el, {attributes: true, attributeFilter: ['class']});
    }""")
    halt.click()

    for page in (a, b):
        expect(trading_state(page)).to_have_attribute("data-value", "HALTED")
    states = journal(served.db, ["risk.trading_state"], lambda df: (df["state"] == "HALTED").any())
    halted = states[states["state"] == "HALTED"]
    assert list(halted["by"]) == [LOCAL], halted[["seq", "state", "by", "reason"]]
    seq = int(halted["seq"].iloc[0])
    assert wait_toast([a, b], rf"^Trading HALTED #(?P<seq>{seq}) by {re.escape(LOCAL)}") == [seq]

    # The click showed a loading state until the store had the command, then its outcome, where
    # it was asked: beside the trading buttons of the tab that clicked.
    expect(a.locator(".seamless-trading-outcome")).to_contain_text("Halt trading: done")
    expect(b.locator(".seamless-trading-outcome")).to_be_hidden()
    expect(host).not_to_have_class(re.compile(r"\bpn-loading\b"))
    for page in (a, b):  # halted: halting no longer applies, resuming does; the runner runs on
        expect(button(page, "seamless-cmd-halt")).to_be_disabled()
        expect(button(page, "seamless-cmd-resume_trading")).to_be_enabled()
        expect(page.locator(".seamless-runner-status")).to_have_attribute("data-value", "RUNNING")
    classes = a.evaluate("() => window.__haltClasses")
    assert any("pn-loading" in c for c in classes), classes


def test_page_loads_with_live_data(live, open_tabs):
    (page,) = open_tabs(live.url)
    expect(page.locator(".seamless-runner-status")).to_have_attribute("data-value", "RUNNING")
    expect(trading_state(page)).to_have_attribute("data-value", "ACTIVE")
    # the runner's age: counted by the page (the server sends only since when)
    age = re.compile(r"^ (just now|\d+ s ago|\d+ min ago|[\d.]+ h ago)$")
    expect(page.locator(".seamless-runner-status .detail")).to_have_text(age)
    # the KPI tiles: the account's figures, the P&L signed and coloured by its sign
    values = page.locator(".seamless-kpi-value")
    expect(values).to_have_count(5)
    expect(values.nth(0)).to_have_text(re.compile(r"^\$\d{1,3}(,\d{3})*\.\d\d$"))
    expect(values.nth(1)).to_have_text(re.compile(r"^[+−]\$[\d,]+\.\d\d$"))
    daily, colour = read_attached(values.nth(1), "el => [el.textContent, getComputedStyle(el).color]")
    assert colour == ("rgb(192, 57, 43)" if daily.startswith("−") else "rgb(30, 132, 73)"), (daily, colour)
    expect(page.locator(".seamless-loss-text")).to_have_text(re.compile(r"^\d+% of \$[\d,]+\.\d\d$|^no limit$"))

    show_tab(page, "Market")
    quotes = page.locator(".seamless-quotes .tabulator-row")
    for sym in SYMBOLS:  # a row per symbol, with a price
        expect(quotes.filter(has_text=sym)).to_have_count(1)
    data = table_data(page, "seamless-quotes")
    assert sorted(data["symbol"]) == list(SYMBOLS), data
    assert all(p > 0 for p in data["last"]), data
    for sym in data["symbol"]:
        expect(quotes.filter(has_text=sym)).to_contain_text(re.compile(r"\d+\.\d{4}(?!\d)"))  # last:f4
    expect(page.locator(".seamless-marketview .seamless-fresh")).to_be_visible()

    show_tab(page, "Events")
    expect(page.locator(".seamless-events .tabulator-row").first).to_be_visible()
    assert len(table_data(page, "seamless-events")["seq"]) > 0


def test_tables_change_row_by_row_and_show_what_the_server_sent(live, open_tabs):
    """The page updates a table's changed rows and adds its new ones (no whole-table redraw,
    seamless.views.guard), and what Tabulator shows is exactly what the server sent."""
    (page,) = open_tabs(live.url)
    shown = lambda cls: page.evaluate(f"() => ({TABLE_SHOWN_JS})({cls!r})")  # noqa: E731
    # Open positions: marks move with every quote; recent fills: newest first.
    page.wait_for_function(f"() => ({TABLE_SHOWN_JS})('seamless-positions').rows > 0", timeout=T, polling=100)
    page.wait_for_function(f"() => ({TABLE_SHOWN_JS})('seamless-fills').rows >= 2", timeout=T, polling=100)
    counts = page.evaluate("() => ({...window.__seamlessTables})")
    page.wait_for_function(
        f"() => window.__seamlessTables.incremental >= {counts['incremental'] + 5}", timeout=T, polling=100
    )
    for cls in ("seamless-positions", "seamless-fills"):
        page.wait_for_function(f"() => ({TABLE_SHOWN_JS})({cls!r}).matches", timeout=T, polling=100)
    fills = [r["seq"] for r in shown("seamless-fills")["shown"]]
    assert fills == sorted(fills, reverse=True) and len(fills) >= 2, fills

    show_tab(page, "Market")  # every quote's price moves: its rows are patched, never re-sent
    page.wait_for_function(
        f"() => ({TABLE_SHOWN_JS})('seamless-quotes').rows === {len(SYMBOLS)}", timeout=T, polling=100
    )
    before = page.evaluate("() => ({...window.__seamlessTables})")
    first = {r["symbol"]: r["last"] for r in shown("seamless-quotes")["shown"]}
    page.wait_for_function(
        f"() => window.__seamlessTables.incremental >= {before['incremental'] + 10}", timeout=T, polling=100
    )
    page.wait_for_function(f"() => ({TABLE_SHOWN_JS})('seamless-quotes').matches", timeout=T, polling=100)
    later = {r["symbol"]: r["last"] for r in shown("seamless-quotes")["shown"]}
    assert later != first, "the quotes shown never moved"
    after = page.evaluate("() => ({...window.__seamlessTables})")
    assert after["full"] == before["full"], (before, after)


# A table of its own in the dashboard's page (so with the guard installed), taken through
# setData steps as Panel would hand them: after each, how the page took it (row by row or
# whole), the table's data and the text of the rows on screen.
GUARD_STEPS_JS = """async (steps) => {
  const el = document.createElement('div');
  document.body.appendChild(el);
  const table = new Tabulator(el, {index: '_index', rowHeight: 28, height: 300, layout: 'fitData',
    columns: [{field: '_index', visible: false}, {field: 'key', formatter: 'plaintext'},
              {field: 'v', formatter: 'plaintext'}],
    data: steps[0]});
  await new Promise((resolve) => table.on('tableBuilt', resolve));
  const out = [];
  for (const data of steps.slice(1)) {
    const full = window.__seamlessTables.full;
    for (const r of table.getRows()) r.getElement().dataset.label = r.getData().index;
    await table.setData(data.map((d) => ({...d})));
    out.push({how: window.__seamlessTables.full > full ? 'whole' : 'rows',
              // rows on screen that now show another row's data (a kept row must stay itself)
              moved: table.getRows().filter((r) => {
                const label = r.getElement().dataset.label;
                return label !== undefined && Number(label) !== r.getData().index;
              }).length,
              data: table.getData().map((d) => [d._index, d.index, d.key, d.v]),
              shown: [...el.querySelectorAll('.tabulator-row')].map(
                (r) => [...r.querySelectorAll('.tabulator-cell')].filter((c) => c.offsetParent !== null)
                  .map((c) => c.textContent).join(' '))});
  }
  table.destroy();
  el.remove();
  return out;
}"""


def test_rows_gone_are_deleted_and_the_rest_kept_in_the_page(live, open_tabs):
    """views/guard.py: a row gone (an order filled) is deleted from the table, the others kept
    (known by their label, Panel's "index"; "_index" is the position) and updated, new rows
    added, in the page's own data and on screen; rows reordered or a new row before an old one
    go whole."""
    (page,) = open_tabs(live.url)

    def rows(*labelled):  # as Panel hands them to Tabulator
        return [{"_index": i, "index": label, "key": k, "v": v} for i, (label, k, v) in enumerate(labelled)]

    steps = [
        (rows((0, "A", 1), (1, "B", 2), (2, "C", 3)), None),
        (rows((0, "A", 1), (2, "C", 30)), "rows"),  # B gone, C changed
        (rows((2, "C", 30), (3, "D", 4), (4, "E", 5)), "rows"),  # A gone, D and E new
        (rows((3, "D", 4), (2, "C", 30)), "whole"),  # reordered
        (rows(), "rows"),  # every row gone
        (rows((5, "F", 6)), "whole"),  # into an empty table
        (rows((7, "H", 8), (5, "F", 6)), "whole"),  # a new row before an old one
    ]
    got = page.evaluate(GUARD_STEPS_JS, [data for data, _ in steps])
    for i, ((data, how), step) in enumerate(zip(steps[1:], got)):
        assert step["how"] == how, (i, step)
        if how == "rows":
            assert step["moved"] == 0, (i, step)
        assert step["data"] == [[d["_index"], d["index"], d["key"], d["v"]] for d in data], (i, step)
        assert step["shown"] == [f"{d['key']} {d['v']}" for d in data], (i, step)


# Sets the page's Toasts model (its Bokeh data model: ``recent``) as the server would, and
# answers the texts of the toasts then in the page, oldest first.
SHOW_TOASTS_JS = """(items) => {
  for (const doc of Bokeh.documents) {
    for (const m of doc.all_models) {
      if (m.data && m.data.recent !== undefined && m.data.sent === undefined) {
        m.data.recent = JSON.stringify(items);
        return [...document.querySelectorAll('.seamless-toast__message')].map((e) => e.textContent);
      }
    }
  }
  return null;
}"""


def test_a_burst_of_toasts_keeps_the_newest_few_and_every_error(live, open_tabs):
    """views/toasts.py: every toast shows, but toasts that close by themselves do not pile up
    (a burst of 60 fills stacked 60 boxes in every tab): a new message's all show, older ones
    go to leave the newest MAX_SHOWN; errors stay until closed."""
    from seamless.views.toasts import MAX_SHOWN

    (page,) = open_tabs(live.url)
    base = 1_000_000  # past any id the server has used
    burst = [[base + 1, "error", "Halt failed #1", 0]] + [
        [base + i, "success", f"Fill #{i}", 5000] for i in range(2, 2 + 2 * MAX_SHOWN)
    ]
    fills = [f"Fill #{i}" for i in range(2, 2 + 2 * MAX_SHOWN)]
    shown = page.evaluate(SHOW_TOASTS_JS, burst)
    assert shown is not None, "no Toasts model in the page"
    assert [t for t in shown if t.startswith("Fill")] == fills and "Halt failed #1" in shown, shown

    n = base + 2 + 2 * MAX_SHOWN
    shown = page.evaluate(SHOW_TOASTS_JS, [[n, "success", "Fill #next", 5000]])
    assert [t for t in shown if t.startswith("Fill")] == fills[-(MAX_SHOWN - 1) :] + ["Fill #next"], shown
    assert "Halt failed #1" in shown


def test_a_closed_tab_leaves_nothing_behind(live, open_tabs):
    (a,) = open_tabs(live.url)
    show_tab(a, "System")
    # Earlier tests' tabs may still be closing: one session (this one) first.
    expect(figure(a, "open sessions")).to_have_text("1")
    subs = figure(a, "bus subscribers / state watchers")
    expect(subs).to_have_text(re.compile(r"^\d+ / \d+$"))
    one_tab = subs.inner_text()

    (b,) = open_tabs(live.url)
    expect(figure(a, "open sessions")).to_have_text("2")
    assert subs.inner_text() == one_tab  # the hub is one subscription, whatever the tabs

    b.context.close()
    expect(figure(a, "open sessions")).to_have_text("1")
    expect(subs).to_have_text(one_tab)


def test_market_turns_stale_when_the_feed_stops(live, open_tabs):
    (page,) = open_tabs(live.url)
    market = page.locator(".seamless-marketview")
    runner = page.locator(".seamless-runner-status")
    show_tab(page, "Market")
    expect(market.locator(".seamless-fresh")).to_be_visible()
    show_tab(page, "Overview")  # where the controls are
    button(page, "seamless-cmd-pause").click()
    expect(runner).to_have_attribute("data-value", "PAUSED")
    try:
        show_tab(page, "Market")
        expect(market.locator(".seamless-stale")).to_be_visible()
        expect(market.locator(".seamless-stale")).to_contain_text("STALE")
        expect(market.locator(".seamless-fresh")).to_have_count(0)
    finally:  # the other tests on this server want the feed running
        show_tab(page, "Overview")
        button(page, "seamless-cmd-resume").click()
    expect(runner).to_have_attribute("data-value", "RUNNING")
    show_tab(page, "Market")
    expect(market.locator(".seamless-fresh")).to_be_visible()
    expect(market.locator(".seamless-stale")).to_have_count(0)
    by = journal(live.db, ["runner.status"], lambda df: set(df["status"]) >= {"PAUSED"})
    paused = by[by["status"] == "PAUSED"]
    assert list(paused["by"]) == [LOCAL], paused


MONEY_MOVING = (
    "seamless-ask-flatten",
    "seamless-ask-reset_breach",
    "seamless-cmd-resume_trading",
    "seamless-cmd-start",
    "seamless-cmd-resume",
)
RISK_REDUCING = ("seamless-cmd-halt", "seamless-cmd-pause", "seamless-cmd-stop")


def test_a_remote_tab_may_not_move_money(live, open_tabs):
    (remote,) = open_tabs(live.url, extra_http_headers={"X-Forwarded-For": "203.0.113.9"})
    (local,) = open_tabs(live.url)
    for css in MONEY_MOVING:
        expect(button(remote, css)).to_be_disabled()
    for css in RISK_REDUCING:
        expect(button(remote, css)).to_be_enabled()
        expect(button(local, css)).to_be_enabled()
    # Halted, resuming trading applies: the local tab may, the remote one still may not.
    button(remote, "seamless-cmd-halt").click()
    expect(button(local, "seamless-cmd-resume_trading")).to_be_enabled()
    expect(button(remote, "seamless-cmd-resume_trading")).to_be_disabled()
    expect(remote.get_by_role("button", name="Halt trading")).to_be_disabled()
    button(local, "seamless-cmd-resume_trading").click()  # as it was found
    expect(trading_state(local)).to_have_attribute("data-value", "ACTIVE")
    expect(remote.get_by_role("button", name="Flatten all…")).to_be_disabled()
    expect(remote.get_by_role("button", name="Start")).to_be_disabled()


def test_reconcile_now_runs_once_journaled_with_who_and_shows_in_the_view(live, open_tabs):
    (page,) = open_tabs(live.url)
    show_tab(page, "Reconciliation")
    before = len(journal(live.db, ["reconcile.started"]))  # the startup run at least
    button(page, "seamless-cmd-reconcile").click()
    runs = journal(live.db, ["reconcile.started"], lambda df: len(df) > before, what="a manual run")
    mine = runs[runs["by"] == LOCAL]
    assert len(mine) == 1, runs[["seq", "by"]]
    run_id = mine["run_id"].iloc[-1]
    done = journal(live.db, ["reconcile.completed"], lambda df: run_id in set(df["run_id"]), what="the run to complete")
    assert bool(done[done["run_id"] == run_id]["ok"].iloc[0]) is True  # the paper broker agrees
    view = page.locator(".seamless-reconciliationview")
    expect(view.locator(".seamless-runs")).to_contain_text(run_id)  # the view lists the run
    expect(view.locator(".seamless-reconcile-outcome")).to_contain_text("Reconcile now: done")


def test_a_remote_user_who_logs_in_may_move_money_and_is_journaled_by_name(tmp_path, browser):
    """Exposed with --basic-auth: a proxied client must log in; once in, it may resume trading
    (money moving), and the journal names the user, not an address. A wrong password gets no
    page at all."""
    creds = tmp_path / "users.json"
    creds.write_text('{"alice": "correct horse"}')
    served = _start(
        tmp_path / "server",
        {"SEAMLESS_SPEED": "0.01", "SEAMLESS_MAX_RATE": "2"},
        ("--basic-auth", str(creds), "--cookie-secret", "test-only-cookie-secret"),
    )
    context = browser.new_context(extra_http_headers={"X-Forwarded-For": "203.0.113.9"})
    try:
        context.route("**/*", _local_only)
        context.add_init_script(TOAST_RECORDER_JS)
        page = context.new_page()
        page.set_default_timeout(T)

        def log_in(password: str) -> None:
            page.goto(served.url, timeout=T * 2)
            page.locator('input[name="username"]').fill("alice")
            page.locator('input[name="password"]').fill(password)
            page.locator("button.form-button").click()

        log_in("wrong")
        expect(page.locator('input[name="password"]')).to_be_visible()  # still the login page
        assert page.evaluate("() => window.Bokeh === undefined || window.Bokeh.documents.length === 0")

        log_in("correct horse")
        page.wait_for_function(PANEL_LIVE_JS, timeout=T * 2, polling=100)
        expect(page.get_by_text("Signed in as user:alice")).to_be_visible()
        button(page, "seamless-cmd-halt").click()
        expect(trading_state(page)).to_have_attribute("data-value", "HALTED")
        expect(button(page, "seamless-cmd-resume_trading")).to_be_enabled()  # money moving, and logged in
        button(page, "seamless-cmd-resume_trading").click()
        expect(trading_state(page)).to_have_attribute("data-value", "ACTIVE")
        states = journal(served.db, ["risk.trading_state"], lambda df: (df["state"] == "ACTIVE").any())
        assert [(s, b) for s, b in zip(states["state"], states["by"])] == [
            ("HALTED", "user:alice"),
            ("ACTIVE", "user:alice"),
        ], states[["seq", "state", "by"]]
    finally:
        context.close()
        _stop(served, show_log=not served.alive())


def test_a_history_that_fails_verification_alerts_every_tab_and_halts(own_server, open_tabs, tmp_path):
    from persist.test_chain import build, flip  # tests/persist: its store with a fill below a snapshot

    db = tmp_path / "acct.db"
    snap, marks = build(db)
    mark = next(m for m, s in marks.items() if s <= snap)  # below the snapshot: the open does not read it
    served = own_server(
        SEAMLESS_DB=str(db), SEAMLESS_AUTOSTART="0", SEAMLESS_RECONCILE="0", SEAMLESS_SCRUB_REST_S="0.5"
    )
    a, b = open_tabs(served.url, 2)
    for page in (a, b):
        expect(trading_state(page)).to_have_attribute("data-value", "ACTIVE")
    flip(db, b'{"trade_id":"' + mark.encode())  # the file changes under the running server
    seqs = wait_toast([a, b], rf"^History failed verification #(?P<seq>\d+) at seq {marks[mark]}: .* trading HALTED$")
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)  # not through the history: it fails verification
    try:
        found = conn.execute("SELECT seq, payload FROM journal WHERE topic = 'history.corrupt'").fetchall()
    finally:
        conn.close()
    assert [s for s, _ in found] == seqs[:1] and f'"where":"seq {marks[mark]}"' in found[0][1]
    for page in (a, b):
        expect(trading_state(page)).to_have_attribute("data-value", "HALTED")
