"""What every patch of :mod:`seamless.compat` shares: the version and name checks, one warning.

A :class:`Patch` installs once per process. It installs only when every library it names is
in its tested range (``TESTED``, PEP 440 specifiers) and its own ``check`` finds the names it
replaces or reads, with the signatures it expects; otherwise it keeps the library's own path
and warns once (:class:`CompatFallbackWarning`), naming the patch, the version found and the
range tested.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable
from importlib import metadata
from typing import Any

from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version


class CompatFallbackWarning(UserWarning):
    """A patch kept the library's own path: a version out of its tested range, or a name gone."""


def _tabulator() -> str:
    """The version of the Tabulator (JavaScript) Panel ships."""
    from panel.models.tabulator import TABULATOR_VERSION

    return str(TABULATOR_VERSION)


#: How the version of each library a patch may name is found (tests replace these, never the
#: libraries). Python distributions by their installed metadata.
VERSIONS: dict[str, Callable[[], str]] = {
    "panel": lambda: metadata.version("panel"),
    "bokeh": lambda: metadata.version("bokeh"),
    "param": lambda: metadata.version("param"),
    "tabulator": _tabulator,
}


def version_of(library: str) -> str:
    return VERSIONS[library]()


def out_of_range(tested: dict[str, str]) -> str | None:
    """Why the libraries found are not those tested (the first one that is not), or None."""
    for library, spec in tested.items():
        try:
            found = version_of(library)
        except Exception as e:  # not installed, or its version not readable
            return f"{library}'s version could not be read ({e}); tested: {spec}"
        try:
            ok = SpecifierSet(spec).contains(Version(found), prereleases=True)
        except InvalidVersion:
            ok = False
        if not ok:
            return f"{library} {found} is outside the tested range {spec}"
    return None


def signature_is(what: str, fn: Any, *params: str) -> str | None:
    """None if ``fn`` (named ``what`` in the reason) is a function whose parameters are named
    ``params`` (in order; ``*name`` for a var-positional, ``**name`` a var-keyword), else what
    differs."""
    if not callable(fn):
        return f"{what} is gone"
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError) as e:
        return f"{what} has no signature ({e})"
    prefixes: dict[Any, str] = {inspect.Parameter.VAR_POSITIONAL: "*", inspect.Parameter.VAR_KEYWORD: "**"}
    names = [prefixes.get(p.kind, "") + p.name for p in sig.parameters.values()]
    if tuple(names) != params:
        return f"{what}{sig} is not ({', '.join(params)})"
    return None


def first(*problems: str | None) -> str | None:
    return next((p for p in problems if p), None)


class Patch:
    """One patch: ``check()`` (None when the names it relies on are as expected, else what is
    not), ``apply()`` and ``revert()`` (tests run both paths in one process)."""

    def __init__(
        self,
        name: str,
        tested: dict[str, str],
        check: Callable[[], str | None],
        apply: Callable[[], None],
        revert: Callable[[], None],
    ) -> None:
        self.name, self.tested = name, tested
        self._check, self._apply, self._revert = check, apply, revert
        self.installed = False
        self.reason: str | None = None  # why it fell back; None while installed or not tried
        self.tried = False

    def install(self) -> bool:
        """Idempotent: True if installed (now or before); False if the library's own path is
        kept, with one warning the first time."""
        if self.tried:
            return self.installed
        self.tried = True
        try:
            why = out_of_range(self.tested) or self._check()
        except Exception as e:  # a check that cannot even look: the names are not as expected
            why = f"its check failed: {type(e).__name__}: {e}"
        if why:
            self.reason = why
            warnings.warn(
                f"seamless.compat.{self.name} not installed: {why}; the library's own "
                f"path is used (slower, same result)",
                CompatFallbackWarning,
                stacklevel=2,
            )
            return False
        self._apply()
        self.installed = True
        return True

    def uninstall(self) -> None:
        """Back to the library's own path (and to not tried: the next install checks again)."""
        if self.installed:
            self._revert()
        self.installed, self.tried, self.reason = False, False, None

    def status(self) -> dict[str, Any]:
        versions: dict[str, str | None] = {}
        for library in self.tested:
            try:
                versions[library] = version_of(library)
            except Exception:
                versions[library] = None
        state = "installed" if self.installed else "fell back" if self.tried else "not installed"
        return {"state": state, "reason": self.reason, "tested": dict(self.tested), "found": versions}
