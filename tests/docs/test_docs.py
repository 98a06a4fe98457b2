"""The README and docs/ against the code: the settings, the layers, the API reference."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
DOCS = REPO / "docs"


def _table_rows(text: str) -> list[list[str]]:
    """The cells of every Markdown table row in ``text``."""
    return [
        [c.strip() for c in line.strip().strip("|").split("|")]
        for line in text.splitlines()
        if line.startswith("|") and not line.startswith("|---")
    ]


def test_readme_is_a_front_door():
    # The package's long description (pyproject `readme`): short, and the history lives in git.
    assert len(README.read_bytes()) <= 10 * 1024


def test_settings_page_names_every_setting_and_the_readme_only_settings():
    from seamless.config import Config, env_name

    known = {env_name(n) for n in Config.names()}

    def variables(path):
        return {row[0].strip("`") for row in _table_rows(path.read_text()) if row[0].startswith("`SEAMLESS_")}

    listed = variables(REPO / "docs" / "settings.md")
    assert not sorted(known - listed), f"settings missing from docs/settings.md: {', '.join(sorted(known - listed))}"
    assert not sorted(listed - known), f"docs/settings.md names what is not a setting: {sorted(listed - known)}"
    shown = variables(README)
    assert shown and not shown - known, f"the README's settings table names what is not a setting: {shown - known}"


def test_architecture_layers_match_the_layer_test():
    spec = importlib.util.spec_from_file_location("_layers", REPO / "tests" / "test_architecture.py")
    layers = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(layers)
    text = (DOCS / "architecture.md").read_text()
    documented: dict[str, int] = {}
    for row in _table_rows(text):
        if row[0].isdigit():
            documented[row[1].strip("`").rstrip("/")] = int(row[0])
    assert documented == layers.LAYER, "docs/architecture.md's layer table differs from tests/test_architecture.py"


def test_every_package_has_an_api_reference_page():
    pages = "\n".join(p.read_text() for p in (DOCS / "reference").glob("*.md"))
    referenced = set(re.findall(r"^::: (seamless\.\w+)", pages, re.MULTILINE))
    package = REPO / "seamless"
    names = {
        p.stem if p.is_file() else p.name
        for p in package.iterdir()
        if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").exists()
    }
    missing = sorted(f"seamless.{n}" for n in names if f"seamless.{n}" not in referenced)
    assert not missing, f"no page in docs/reference/ for: {', '.join(missing)}"


def test_no_text_tells_how_it_was_developed():
    history = re.compile(r"shared/|tried, not kept|\b(session|round) \d+\b", re.IGNORECASE)
    found = [
        f"{p.relative_to(REPO)}: {m.group(0)!r}"
        for p in [README, *DOCS.rglob("*.md")]
        for m in history.finditer(p.read_text())
    ]
    assert not found, "\n".join(found)
