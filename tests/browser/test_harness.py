"""The browser harness itself: the real dashboard served by `panel serve app.py`, in real tabs."""

from __future__ import annotations

from seamless.bench.push import PANEL_LIVE_JS, websockets


def _watch_errors(page) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(f"{e}\n{(e.stack or '')[:1500]}"))
    return errors


def _shows_seamless(page) -> None:
    """The name is shown on the page, not only in its title (locators pierce shadow roots).
    Generous timeout: a loaded machine makes a busy page slow, and speed is no concern here."""
    page.locator("text=Seamless >> visible=true").first.wait_for(state="visible", timeout=60_000)


def test_dashboard_serves_seamless_in_two_tabs_at_once(dashboard, tabs):
    served = dashboard(SEAMLESS_SPEED="0.1")

    first = tabs(served.url)
    first_errors = _watch_errors(first)
    assert "Seamless" in first.title()
    _shows_seamless(first)

    second = tabs(served.url)  # while the first is open
    second_errors = _watch_errors(second)
    assert "Seamless" in second.title()
    _shows_seamless(second)

    # Two live sessions at once: each page holds its own Bokeh document, both still live.
    ids = [
        p.evaluate("() => Bokeh.documents.map((d) => d.roots().map((r) => r.id).join(','))") for p in (first, second)
    ]
    assert all(ids), ids
    for page in (first, second):
        assert page.evaluate(PANEL_LIVE_JS), f"Panel no longer live in {page.url}"
        # Each tab holds its own open websocket to the server (its Bokeh session).
        open_sockets = [ws for ws in websockets(page) if not ws.is_closed()]
        assert len(open_sockets) == 1 and f"127.0.0.1:{served.port}/" in open_sockets[0].url, [
            (ws.url, ws.is_closed()) for ws in websockets(page)
        ]
    assert not first_errors and not second_errors, first_errors + second_errors

    assert served.alive(), served.stderr_text()
    log = served.stderr_text()
    assert "Traceback" not in log, log
