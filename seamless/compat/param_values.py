"""The store's write of a part's new values: straight into param's storage when nobody watches.

**What it patches.** Nothing of param's: :func:`setter` hands the store (``store.apply_changes``,
once per event and part) one of two functions, decided once. The fast one reads param's
private per-instance storage (``obj._param__private``: its ``values``, ``watchers`` and
``dynamic_watchers``) and validates with each parameter's private ``Parameter._validate``;
where the part is watched it sets the attributes, batched with param's
``param.parameterized.batch_call_watchers`` when there are several.

:func:`store_silently` writes one value into that storage for a caller that tells the page
itself (a lean table, ``tabulator_table``).

**Why.** Nobody watches most parts most of the time (a dashboard watches through the bus, and
only the parts it shows): for those, validate and store, skipping param's notification
machinery (~7 us a set) that would find no one. It runs for every event the store applies.

**Versions.** param 2.4 (``TESTED``). At install it checks the version, that param's
per-instance storage has the three slots read and that ``Parameter._validate`` takes a value.

**Fallback.** :func:`public_set`: param's public ``obj.param.update(values)``, inside the
store's write guard as before: the same values and the same watcher events, with param's
checks and notifications paid on every set.

The store installs this one itself (it is used headless, by the CLI, as well as by the
dashboard): nothing is patched, only the function chosen.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import param
from param.parameterized import batch_call_watchers

from .check import Patch, first, signature_is

TESTED = {"param": ">=2.4,<2.5"}

Setter = Callable[[param.Parameterized, dict[str, Any]], None]


class _Parameters(dict):
    """class -> its parameters by name, filled when first asked."""

    def __missing__(self, cls: Any) -> dict[str, param.Parameter]:
        objects = self[cls] = {n: cls.param[n] for n in cls.param}
        return objects


_PARAMETERS = _Parameters()


def public_set(obj: param.Parameterized, fields: dict[str, Any]) -> None:
    """Set ``fields`` on ``obj`` through param's public path."""
    obj.param.update(fields)


def fast_setter(trusted: tuple[type, ...] = ()) -> Setter:
    """The fast write; a value whose type is one of ``trusted`` is stored unvalidated (the
    caller made it, already checked: a FrozenDict from the store's planner)."""

    parameters = _PARAMETERS

    def fast_set(obj: param.Parameterized, fields: dict[str, Any]) -> None:
        private = obj._param__private
        if not private.watchers and not private.dynamic_watchers:
            # Nobody watches this object: validate and store.
            objects, values = parameters[type(obj)], private.values
            for k, v in fields.items():
                if type(v) not in trusted:
                    objects[k]._validate(v)
                values[k] = v
        elif len(fields) == 1:
            for k, v in fields.items():
                setattr(obj, k, v)
        else:
            with batch_call_watchers(obj):
                for k, v in fields.items():
                    setattr(obj, k, v)

    return fast_set


def store_silently(obj: param.Parameterized, name: str, value: Any) -> None:
    """Make ``value`` ``obj``'s ``name`` with no validation and no watcher told: for a caller
    that sends the change its own way and would discard the events anyway (a lean table's new
    frame, ``tabulator_table``). Installed: into param's storage (a table's ``value`` has nine
    watchers, each comparing the two frames, ~1 ms a set); else through param, events discarded."""
    if PATCH.installed:
        obj._param__private.values[name] = value
    else:
        with param.parameterized.discard_events(obj):
            setattr(obj, name, value)


def setter(trusted: tuple[type, ...] = ()) -> Setter:
    """Installs (idempotent) and returns the write to use: the fast one if installed, else
    :func:`public_set`. Called once, where the store is defined."""
    return fast_setter(trusted) if PATCH.install() else public_set


def _check() -> str | None:
    from param.parameterized import _InstancePrivate

    slots = set(getattr(_InstancePrivate, "__slots__", ()))
    missing = {"values", "watchers", "dynamic_watchers"} - slots
    return first(
        f"param's instance storage has no {', '.join(sorted(missing))}" if missing else None,
        signature_is("Parameter._validate", getattr(param.Parameter, "_validate", None), "self", "val"),
    )


PATCH = Patch("param_values", TESTED, _check, lambda: None, lambda: None)
install, uninstall = PATCH.install, PATCH.uninstall
