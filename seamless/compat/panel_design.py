"""A component's change skips Panel's design step unless it changes ``stylesheets``.

**What it patches.** ``panel.reactive.Reactive._update_properties`` (private), for the whole
process: for every change but a ``stylesheets`` one it goes straight to the property conversion
(``Reactive._process_param_change``, private), as Panel's own base class (``Syncable``) does.

**Why.** Each change of a component's parameter — a table's value, a pane's text, a toast —
made Panel compute the component's design parameters again (``Design.params``: its
stylesheets, each path resolved on disk), only to use them when the change is to
``stylesheets``. With ten tabs open that was a tenth of the server loop's time and a quarter
of each alert's.

**Versions.** Panel 1.9 (``TESTED``). At install it checks the version and that both methods
are there with the signatures it expects.

**Fallback.** Outside them Panel's own ``_update_properties`` stays (one
:class:`~seamless.compat.check.CompatFallbackWarning`): the same property changes reach the
page, with the design step paid on each.
"""

from __future__ import annotations

from typing import Any

from panel.reactive import Reactive

from .check import Patch, first, signature_is

TESTED = {"panel": ">=1.9,<1.10"}

_original: Any = Reactive.__dict__.get("_update_properties")  # Panel's own, put back by uninstall


def _update_properties(self: Any, *events: Any, doc: Any) -> dict[str, Any]:
    if any(e.name == "stylesheets" for e in events):
        return _original(self, *events, doc=doc)
    return self._process_param_change({e.name: e.new for e in events})


def _check() -> str | None:
    return first(
        signature_is("Reactive._update_properties", _original, "self", "*events", "doc"),
        signature_is(
            "Reactive._process_param_change", getattr(Reactive, "_process_param_change", None), "self", "params"
        ),
    )


def _apply() -> None:
    Reactive._update_properties = _update_properties  # type: ignore[method-assign]  # the patch


def _revert() -> None:
    Reactive._update_properties = _original  # type: ignore[method-assign]  # the patch


PATCH = Patch("panel_design", TESTED, _check, _apply, _revert)
install, uninstall = PATCH.install, PATCH.uninstall
