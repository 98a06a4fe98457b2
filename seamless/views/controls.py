"""The dashboard's controls: each click is a store command, journaled with who asked.

A control shows a loading state from the click until the service says the store has the
command (or why not); a refused command says so in a notification. Flatten all and reset
breach ask for confirmation first. Buttons that move money are disabled for a session that
may not use them (the service checks again: the browser is not trusted).
"""

from __future__ import annotations

from concurrent.futures import Future
from functools import partial
from typing import Any

import panel as pn

from ..push import SessionDoc
from ..service import Access, NotAllowed, Service


class Controls:
    def __init__(self, service: Service, access: Access, doc: SessionDoc, toasts) -> None:
        self.service, self.access, self.doc, self.toasts = service, access, doc, toasts
        self.buttons: dict[str, pn.widgets.Button] = {}
        runner = pn.Row(
            self._button("Start", "start", "success"),
            self._button("Pause", "pause", "warning"),
            self._button("Resume", "resume", "primary"),
            self._button("Stop", "stop", "danger"),
            sizing_mode="stretch_width",
        )
        trading = pn.Row(
            self._button("Halt trading", "halt", "danger"),
            self._button("Resume trading", "resume_trading", "primary"),
            self._confirmed("Reset breach", "reset_breach", "Reset the daily-loss breach? Trading becomes ACTIVE."),
            self._confirmed("Flatten all", "flatten", "Close every position at market?"),
            sizing_mode="stretch_width",
        )
        self.panel = pn.Column(runner, trading, sizing_mode="stretch_width", css_classes=["seamless-controls"])

    def _gated(self, label: str, command: str, button_type: str, css: str) -> pn.widgets.Button:
        """A button disabled for a session that may not run ``command`` (saying why)."""
        allowed = self.access.may(command)
        return pn.widgets.Button(
            name=label,
            button_type=button_type,
            disabled=not allowed,
            description=None if allowed else "log in to use this: it moves money",
            css_classes=[css],
        )

    def _button(self, label: str, command: str, button_type: str = "default") -> pn.widgets.Button:
        b = self._gated(label, command, button_type, f"seamless-cmd-{command}")

        def clicked(_e: Any) -> None:
            self.run(command, b, label)

        b.on_click(clicked)
        self.buttons[command] = b
        return b

    def _confirmed(self, label: str, command: str, question: str) -> pn.Column:
        """A button that reveals 'question [Confirm] [Cancel]' instead of acting at once."""
        ask = self._gated(f"{label}…", command, "danger", f"seamless-ask-{command}")
        confirm = pn.widgets.Button(
            name=f"Confirm: {label.lower()}", button_type="danger", css_classes=[f"seamless-cmd-{command}"]
        )
        cancel = pn.widgets.Button(name="Cancel", css_classes=[f"seamless-cancel-{command}"])
        prompt = pn.Row(pn.pane.Markdown(question, margin=(0, 5)), confirm, cancel, visible=False)

        def ask_cb(_e: Any) -> None:
            prompt.visible = True

        def cancel_cb(_e: Any) -> None:
            prompt.visible = False

        def confirm_cb(_e: Any) -> None:
            prompt.visible = False
            self.run(command, ask, label)

        ask.on_click(ask_cb)
        cancel.on_click(cancel_cb)
        confirm.on_click(confirm_cb)
        self.buttons[command] = confirm
        return pn.Column(ask, prompt)

    def run(self, command: str, widget: Any, label: str, **kwargs: Any) -> Future | None:
        """Send ``command`` to the service; ``widget`` shows loading until the store has it."""
        try:
            future = self.service.command(command, self.access, **kwargs)
        except NotAllowed as e:
            self.toasts.error(str(e), duration=8000)
            return None
        widget.loading = True
        future.add_done_callback(lambda f: self.doc.add_next_tick_callback(partial(self._done, f, widget, label)))
        return future

    def _done(self, future: Future, widget: Any, label: str) -> None:
        widget.loading = False
        error = future.exception()
        if error is not None:
            self.toasts.error(f"{label} failed: {error}", duration=8000)
        else:
            self.toasts.info(f"{label}: done", duration=3000)
