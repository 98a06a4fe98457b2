"""The dashboard's controls: each click is a store command, journaled with who asked.

Each button is enabled only when its command applies to the state as it is (:func:`applies`):
Start only when the runner is stopped, Resume only when it is paused, Resume trading only when
trading is halted and no loss breach stands... The runner and trading are apart: the runner
runs or not; trading is ACTIVE, REDUCING or HALTED. Buttons that move money stay disabled for a
session that may not use them, saying why (the service checks again: the browser is not
trusted); on a viewer, for any session not logged in (its commands are relayed to the runner's host).

A command's outcome shows under the buttons it was asked from, and goes when it is no longer
true: "Pause: done" goes once the runner's status moves on. Flatten all and reset breach ask
first; flatten all also halts trading, so the strategies do not reopen what it closed.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from functools import partial
from typing import Any

import panel as pn

from ..events import RunnerStatus, TradingState
from ..push import SessionDoc
from ..service import Access, NotAllowed, Service
from ..store import StateSource

RUNNER_COMMANDS = ("start", "pause", "resume", "stop")
TRADING_COMMANDS = ("halt", "resume_trading", "reset_breach", "flatten")
_ALIVE = (RunnerStatus.RUNNING, RunnerStatus.PAUSED, RunnerStatus.HALTED)  # HALTED: stores from before the split


def applies(command: str, state) -> bool:
    """Whether ``command`` makes sense on ``state`` (a State) now."""
    runner, risk = state.runner.status, state.risk
    alive = runner in _ALIVE
    if command == "start":
        return runner in (RunnerStatus.STOPPED, RunnerStatus.ERROR)
    if command == "pause":
        return runner in (RunnerStatus.RUNNING, RunnerStatus.HALTED)
    if command == "resume":
        return runner == RunnerStatus.PAUSED
    if command == "stop":
        return alive
    if command == "halt":
        return risk.trading_state != TradingState.HALTED
    if command == "resume_trading":
        return alive and risk.trading_state != TradingState.ACTIVE and not risk.breach
    if command == "reset_breach":
        return alive and bool(risk.breach)
    if command in ("flatten", "close"):
        return alive and any(p.qty for p in state.positions.by_symbol.values())
    if command == "reconcile":
        return state.reconcile.status != "running"
    return True


class Outcome:
    """Where a command's result shows: beside the buttons it was asked from. It stays while
    ``still(state)`` holds for the state it was set on, and goes when that moves on."""

    def __init__(self, css: str) -> None:
        self.pane = pn.pane.Alert("", alert_type="light", visible=False, margin=(4, 5), css_classes=[css])
        self._key: Callable[[Any], Any] | None = None
        self._at: Any = None

    def show(self, text: str, ok: bool, key: Callable[[Any], Any], state) -> None:
        """``key(state)``: what the outcome is about; when it changes, the outcome goes."""
        self.pane.param.update(object=text, alert_type="success" if ok else "danger", visible=True)
        self._key, self._at = key, key(state)

    def follow(self, state) -> None:
        if self._key is not None and self._key(state) != self._at:
            self._key = None
            self.pane.visible = False


def _runner_key(state) -> Any:
    return state.runner.status, state.runner.seq


def _trading_key(state) -> Any:
    return state.risk.trading_state, state.risk.breach is None


class Controls:
    """The sidebar's buttons. ``follow(state)`` (on each push) sets what is enabled."""

    def __init__(self, service: Service, access: Access, doc: SessionDoc, toasts, store: StateSource | None = None):
        self.service, self.access, self.doc, self.toasts = service, access, doc, toasts
        self.store = store if store is not None else service.store
        self.buttons: dict[str, pn.widgets.Button] = {}  # command -> the button that sends it
        self._gates: dict[str, pn.widgets.Button] = {}  # command -> the button enabled by applies()
        self.runner_outcome = Outcome("seamless-runner-outcome")
        self.trading_outcome = Outcome("seamless-trading-outcome")
        self.outcomes = [self.runner_outcome, self.trading_outcome]
        runner = pn.FlexBox(*(self._button(*b) for b in _RUNNER_BUTTONS), gap="4px")
        trading = pn.FlexBox(
            self._button("Halt trading", "halt", "danger"),
            self._button("Resume trading", "resume_trading", "primary"),
            gap="4px",
        )
        confirmed = pn.Column(
            self._confirmed("Reset breach", "reset_breach", "Reset the daily-loss breach? Trading becomes ACTIVE."),
            self._confirmed(
                "Flatten all", "flatten", "Close every position at market? Trading is HALTED too, until resumed."
            ),
        )
        self.panel = pn.Column(
            pn.pane.Markdown("**Runner**", margin=(0, 5)),
            runner,
            self.runner_outcome.pane,
            pn.pane.Markdown("**Trading**", margin=(8, 5, 0, 5)),
            trading,
            confirmed,
            self.trading_outcome.pane,
            sizing_mode="stretch_width",
            css_classes=["seamless-controls"],
        )

    def outcome(self, css: str) -> Outcome:
        """A place for the outcome of a command asked from elsewhere (a view's own button)."""
        o = Outcome(css)
        self.outcomes.append(o)
        return o

    def follow(self, state) -> None:
        """Enable what applies now (and what this session may use); drop outcomes gone stale."""
        for command, b in self._gates.items():
            disabled = not (self.access.may(command) and applies(command, state))
            if b.disabled != disabled:
                b.disabled = disabled
        for o in self.outcomes:
            o.follow(state)

    def _gated(self, label: str, command: str, color: str, css: str) -> pn.widgets.Button:
        """A button disabled for a session that may not run ``command`` (saying why)."""
        why = self.access.refusal(command)
        b = pn.widgets.Button(
            label=label,
            color=color,
            disabled=why is not None or not applies(command, self.store.state),
            description=why,
            css_classes=[css],
            margin=(2, 2),
        )
        self._gates[command] = b
        return b

    def _button(self, label: str, command: str, color: str = "default") -> pn.widgets.Button:
        b = self._gated(label, command, color, f"seamless-cmd-{command}")

        def clicked(_e: Any) -> None:
            self.run(command, b, label)

        b.on_click(clicked)
        self.buttons[command] = b
        return b

    def _confirmed(self, label: str, command: str, question: str) -> pn.Column:
        """A button that reveals 'question [Confirm] [Cancel]' instead of acting at once."""
        ask = self._gated(f"{label}…", command, "danger", f"seamless-ask-{command}")
        confirm = pn.widgets.Button(
            label=f"Confirm: {label.lower()}", color="danger", css_classes=[f"seamless-cmd-{command}"]
        )
        cancel = pn.widgets.Button(label="Cancel", css_classes=[f"seamless-cancel-{command}"])
        prompt = pn.Column(
            pn.pane.Markdown(question, margin=(0, 5)), pn.Row(confirm, cancel), visible=False, margin=(0, 0)
        )

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
        return pn.Column(ask, prompt, margin=0)

    def run(
        self,
        command: str,
        widget: Any,
        label: str,
        outcome: Outcome | None = None,
        key: Callable[[Any], Any] | None = None,
        **kwargs: Any,
    ) -> Future | None:
        """Send ``command`` to the service; ``widget`` shows loading until the store has it; the
        result shows in ``outcome`` until ``key(state)`` changes (default: the runner's or
        trading's outcome, until the runner's status or the trading state moves on)."""
        runner = command in RUNNER_COMMANDS
        if outcome is None:
            outcome = self.runner_outcome if runner else self.trading_outcome
        if key is None:
            key = _runner_key if runner else _trading_key
        try:
            future = self.service.command(command, self.access, **kwargs)
        except NotAllowed as e:
            outcome.show(str(e), False, key, self.store.state)
            return None
        widget.loading = True
        future.add_done_callback(
            lambda f: self.doc.add_next_tick_callback(partial(self._done, f, widget, label, outcome, key))
        )
        return future

    def _done(self, future: Future, widget: Any, label: str, outcome: Outcome, key) -> None:
        widget.loading = False
        error = future.exception()
        text = f"{label}: done" if error is None else f"{label} failed: {error}"
        outcome.show(text, error is None, key, self.store.state)


_RUNNER_BUTTONS = (
    ("Start", "start", "success"),
    ("Pause", "pause", "warning"),
    ("Resume", "resume", "primary"),
    ("Stop", "stop", "danger"),
)
