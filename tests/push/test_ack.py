"""The push's flow control in a real Bokeh document: the number the server marks an update
with, and the page's answer coming back through Bokeh's own patch path."""

from __future__ import annotations

from bokeh.document import Document

from seamless.push.ack import BrowserAck


def _page(ack: BrowserAck) -> Document:
    doc = Document()
    doc.add_root(ack.panel.get_root(doc))
    return doc


def test_the_pages_answer_reaches_the_server_through_bokehs_patch_path():
    answers: list[int] = []
    ack = BrowserAck(answers.append)
    doc = _page(ack)
    assert doc.get_model_by_id(ack.model.id) is ack.model, "the ack's model is in the page's document"
    # the page's answer, as BokehJS sends it in a PATCH-DOC
    doc.apply_json_patch(
        {"events": [{"kind": "ModelChanged", "model": {"id": ack.model.id}, "attr": "seen", "new": 3}]}
    )
    assert answers == [3]


def test_a_mark_is_a_change_of_sent_and_the_page_copies_it_to_seen():
    ack = BrowserAck(lambda n: None)
    doc = _page(ack)
    changes = []
    doc.on_change(lambda event: changes.append((event.attr, event.new)))
    ack.mark(7)
    assert changes == [("sent", 7)]
    (callback,) = ack.model.js_property_callbacks["change:sent"]
    assert callback.code == "cb_obj.seen = cb_obj.sent"
