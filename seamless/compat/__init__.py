"""Every use of a private Panel, Bokeh, Tabulator or param name lives here, one module a patch.

The rule: no other module of seamless reads, overrides or replaces a library's private name
(``_something``, a JavaScript prototype's internals); it asks a module here. Each module says
what it patches, why (the cost it removes, measured), the versions it was tested with
(``TESTED``) and its fallback. At install each checks the versions found and the names it
relies on; outside them it keeps the library's own path and warns once
(:class:`~seamless.compat.check.CompatFallbackWarning`). ``pyproject.toml`` pins the libraries
to the same ranges.

Nothing is patched by importing seamless (a view included). The dashboard's entry point
(``app.py``) calls :func:`install`; the store installs :mod:`.param_values` itself (it chooses a
function, patches nothing), since it also runs headless.

- :mod:`.panel_design`: a change skips Panel's design step unless it changes stylesheets
  (replaces ``Reactive._update_properties``, process-wide);
- :mod:`.bokeh_refs`: a message makes Bokeh references only for the models it names
  (replaces ``Serializer.__init__``/``get_ref``/``has_ref``, process-wide);
- :mod:`.bokeh_send`: a message's frames handed to the socket in one step, the write lock
  held for no turn of the loop (replaces ``Message.send``, process-wide);
- :mod:`.tabulator_table`: the dashboard's lean tables (a Tabulator subclass with private
  overrides), chosen by ``views.base.table``;
- :mod:`.tabulator_js`: the page's Tabulator prototype patch (``views.guard.TableGuard``);
- :mod:`.panel_models`: live HTML straight to the page's models inside the push's hold, toasts
  sent to every page at once in a message composed here;
- :mod:`.param_values`: the store's write of param values.
"""

from __future__ import annotations

import importlib
import logging
import sys
from typing import Any

from .check import CompatFallbackWarning, Patch

log = logging.getLogger("seamless.compat")

#: The patches, in install order. Each module is imported when first asked for (the store's
#: import of param_values must not bring Panel into a headless process).
NAMES = ("panel_design", "bokeh_refs", "bokeh_send", "tabulator_table", "tabulator_js", "panel_models", "param_values")


def patch(name: str) -> Patch:
    if name not in NAMES:
        raise ValueError(f"no compat patch {name!r}; there are {', '.join(NAMES)}")
    return importlib.import_module(f"{__name__}.{name}").PATCH


def install(*names: str) -> list[str]:
    """Install the patches ``names`` (default: all); idempotent. Returns those installed;
    each one that fell back warned once (see :func:`status`)."""
    patches = [patch(n) for n in (names or NAMES)]
    fresh = [p for p in patches if not p.tried]
    installed = [p.name for p in patches if p.install()]
    if fresh:
        log.info(
            "compat: installed %s; fell back to the library's own path: %s",
            ", ".join(p.name for p in fresh if p.installed) or "none",
            ", ".join(p.name for p in fresh if not p.installed) or "none",
        )
    return installed


def installed(name: str) -> bool:
    return patch(name).installed


def status() -> dict[str, dict[str, Any]]:
    """Each patch: its state ('installed', 'fell back', 'not installed'), why it fell back,
    the versions tested and found (for health checks and diagnostics). A patch whose module
    was never imported is reported without importing it."""
    out = {}
    for name in NAMES:
        module = sys.modules.get(f"{__name__}.{name}")
        out[name] = module.PATCH.status() if module is not None else {"state": "not installed", "reason": None}
    return out


__all__ = ["CompatFallbackWarning", "NAMES", "install", "installed", "patch", "status"]
