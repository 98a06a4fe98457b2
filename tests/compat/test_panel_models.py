"""seamless.compat.panel_models: inside a hold a toast goes straight to the page's model and out
at the release; the page gets the same change as through Panel's own path."""

from __future__ import annotations

import json

from bokeh.document import Document
from bokeh.document.events import ModelChangedEvent

from seamless.views.toasts import Toasts


def held_burst() -> tuple[list, list, list, list]:
    """Toasts shown inside a held document, then one outside: (what the page got at the
    release, then after; what Panel's watchers saw)."""
    doc = Document()
    toasts = Toasts()
    model = toasts.get_root(doc)
    doc.add_root(model)
    sent = []
    doc.on_change(
        lambda e: sent.append(
            (
                type(e).__name__,
                getattr(e, "attr", None),
                [t[1:] for t in json.loads(e.new)] if isinstance(e, ModelChangedEvent) else None,
            )
        )
    )
    watched = []
    toasts.param.watch(lambda e: watched.append([t[1:] for t in json.loads(e.new)]), "recent")
    doc.hold("combine")
    toasts.success("Fill #7")
    toasts.show_many([("info", "Fill #8", 5000), ("error", "Halt failed", 0)])
    items = json.loads(model.data.recent)
    assert [t[1:] for t in items] == [["info", "Fill #8", 5000], ["error", "Halt failed", 0]]
    assert items[1][0] == items[0][0] + 1, "numbered in order (one numbering for every session's toasts)"
    assert toasts.recent == model.data.recent
    held = list(sent)
    doc.unhold()
    released = sent[len(held) :]
    toasts.warning("Feed stale")  # no hold: Panel's own path
    return held, released, sent[len(held) + len(released) :], watched


def test_the_page_gets_the_same_change_either_way(patched, unpatched):
    unpatched("panel_models")
    own_held, own_released, own_after, own_watched = held_burst()
    patched("panel_models")
    held, released, after, watched = held_burst()
    assert held == own_held == [], "held: nothing sent yet"
    assert (
        released
        == own_released
        == [("ModelChangedEvent", "recent", [["info", "Fill #8", 5000], ["error", "Halt failed", 0]])]
    )
    assert after == own_after == [("ModelChangedEvent", "recent", [["warning", "Feed stale", 5000]])]
    # Panel's watchers: skipped inside the hold by the patch, not outside it
    assert len(own_watched) == 3 and watched == [[["warning", "Feed stale", 5000]]]


def test_a_live_html_change_in_a_hold_is_sent_at_the_release(patched):
    from seamless.views.ages import LiveHTML

    patched("panel_models")
    doc = Document()
    live = LiveHTML("<b>a</b>")
    model = live.get_root(doc)
    doc.add_root(model)
    sent = []
    doc.on_change(lambda e: sent.append(getattr(e, "attr", None)))
    doc.hold("combine")
    live.set_text('<span data-since="1.000">b</span>')
    assert model.data.object == live.object == "&lt;span data-since=&quot;1.000&quot;&gt;b&lt;/span&gt;"
    assert sent == []
    doc.unhold()
    assert sorted(sent) == ["clock", "object"]
    live.set_text('<span data-since="1.000">b</span>')  # the same: nothing sent
    assert sorted(sent) == ["clock", "object"]
