"""seamless.compat: installed only when asked, each patch within its tested versions; outside
them the library's own path with one warning; pyproject.toml pins the same ranges."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
import warnings
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from seamless import compat
from seamless.compat import check

REPO = Path(__file__).resolve().parents[2]

IMPORT_VIEWS = """
import json
import seamless.views, seamless.views.dashboard, seamless.views.guard, seamless.views.toasts
import seamless.views.notebook
from bokeh.core.serialization import Serializer
from panel.reactive import Reactive
from seamless import compat
from seamless.compat.tabulator_table import LeanTable
from seamless.views.base import table
print(json.dumps({
    "serializer": [getattr(Serializer, n).__module__ for n in ("__init__", "get_ref", "has_ref")],
    "update_properties": Reactive._update_properties.__module__,
    "table": type(table(["a"])).__name__,
    "status": {name: s["state"] for name, s in compat.status().items()},
}))
"""


def test_importing_the_views_patches_nothing():
    out = subprocess.run([sys.executable, "-c", IMPORT_VIEWS], capture_output=True, text=True, check=True, cwd=REPO)
    got = json.loads(out.stdout)
    assert got["serializer"] == ["bokeh.core.serialization"] * 3, "Bokeh's own Serializer"
    assert got["update_properties"] == "panel.reactive", "Panel's own Reactive"
    assert got["table"] == "Table", "a plain Tabulator until the entry point installs the lean one"
    status = got["status"]
    assert status.pop("param_values") == "installed"  # the store's own choice, nothing patched
    assert set(status.values()) == {"not installed"}, status


def test_install_installs_each_patch_once_and_reports_it():
    for name in compat.NAMES:
        compat.patch(name).uninstall()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the tested versions: no warning
        assert compat.install() == list(compat.NAMES)
        assert compat.install() == list(compat.NAMES)
    status = compat.status()
    assert {s["state"] for s in status.values()} == {"installed"}
    assert status["bokeh_refs"]["tested"] == {"bokeh": ">=3.9,<3.10"}
    assert status["tabulator_js"]["found"]["tabulator"] == check.version_of("tabulator")
    with pytest.raises(ValueError, match="no compat patch"):
        compat.install("nope")


def _next_minor(version: str) -> str:
    major, minor = version.split(".")[:2]
    return f"{major}.{int(minor) + 1}.0"


CASES = [(name, library) for name in compat.NAMES for library in compat.patch(name).tested]


@pytest.mark.parametrize("name,library", CASES, ids=[f"{n}-{lib}" for n, lib in CASES])
def test_a_version_out_of_range_keeps_the_librarys_own_path_with_one_warning(name, library, monkeypatch):
    patch = compat.patch(name)
    found = _next_minor(check.version_of(library))
    monkeypatch.setitem(check.VERSIONS, library, lambda: found)  # the version the check sees
    patch.uninstall()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert compat.install(name) == []
        assert compat.install(name) == []  # once: no second warning
    mine = [w for w in caught if issubclass(w.category, compat.CompatFallbackWarning)]
    assert len(mine) == 1, [str(w.message) for w in caught]
    text = str(mine[0].message)
    assert f"seamless.compat.{name}" in text and f"{library} {found}" in text and patch.tested[library] in text
    assert compat.status()[name]["state"] == "fell back" and found in compat.status()[name]["reason"]
    assert not patch.installed


def test_out_of_range_the_classes_stay_the_librarys(monkeypatch):
    from bokeh.core.serialization import Serializer
    from panel.reactive import Reactive

    from seamless.compat.tabulator_table import Table, table_class
    from seamless.views.guard import table_guard

    for name in compat.NAMES:
        compat.patch(name).uninstall()
    monkeypatch.setitem(check.VERSIONS, "panel", lambda: "1.10.0")
    monkeypatch.setitem(check.VERSIONS, "bokeh", lambda: "3.10.0")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", compat.CompatFallbackWarning)
        assert compat.install() == ["param_values"]
    assert Serializer.__init__.__module__ == "bokeh.core.serialization"
    assert Reactive._update_properties.__module__ == "panel.reactive"
    assert table_class() is Table and table_guard() == []


def test_a_name_not_as_expected_keeps_the_librarys_own_path(monkeypatch):
    from bokeh.core.serialization import Serializer

    from seamless.compat import bokeh_refs

    bokeh_refs.uninstall()
    monkeypatch.setitem(bokeh_refs._original, "get_ref", lambda self, obj, default=None: None)  # a new signature
    with pytest.warns(compat.CompatFallbackWarning, match=r"bokeh_refs.*get_ref"):
        assert not bokeh_refs.install()
    assert Serializer.get_ref.__module__ == "bokeh.core.serialization"


def test_pyproject_pins_the_ranges_tested():
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    pins = {r.name: r.specifier for r in map(Requirement, deps)}
    for name in compat.NAMES:
        for library, spec in compat.patch(name).tested.items():
            if library == "tabulator":  # shipped inside Panel, pinned by Panel's pin
                continue
            assert pins[library] == SpecifierSet(spec), (name, library)
