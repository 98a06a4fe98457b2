"""Every analysis notebook runs top to bottom against a store made by a seeded run, offline.

The kernel is ipykernel's native one, built on ``sys.executable`` (this venv's Python),
whatever kernelspecs the machine has installed: ``KernelSpecManager(kernel_dirs=[])``
finds only the native ``python3``, whose command jupyter_client builds from
``sys.executable``.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat
import pytest
from jupyter_client import KernelManager
from jupyter_client.kernelspec import KernelSpecManager
from nbclient import NotebookClient

from seamless.analysis import seeded_store

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
#: Tested here, by name (live.ipynb follows the seeded store: the dashboard's views in a kernel).
EXPECTED = ["analysis.ipynb", "live.ipynb", "replay.ipynb"]
NOT_HERE: set[str] = set()

#: Resources Panel/Bokeh load from a CDN when not inlined.
CDN_HOSTS = ("cdn.bokeh.org", "cdn.holoviz.org", "unpkg.com")
#: Lists of URLs a Bokeh/Panel load script fetches before rendering; empty when inlined.
URL_LISTS = re.compile(r"\b(?:const|var|let)\s+(js_urls|css_urls)\s*=\s*\[(.*?)\]", re.S)
#: "Already loaded? then skip these URLs" lists in Panel's load script (see the test).
SKIP_LISTS = re.compile(r"var urls = \[[^\]]*\];\s*for \(var i = 0; i < urls\.length; i\+\+\) \{\s*skip\.push")
#: A script or stylesheet fetched from the network by an output's HTML.
REMOTE_TAG = re.compile(r"<(?:script|link)\b[^>]*\b(?:src|href)\s*=\s*[\"']?(?:https?:)?//", re.I)


def test_every_notebook_is_listed():
    found = sorted(p.name for p in NOTEBOOKS.glob("*.ipynb") if p.name not in NOT_HERE)
    assert found == EXPECTED, "a notebook was added or removed: list it in EXPECTED (it must run in tests)"


@pytest.fixture(scope="module")
def seeded_db(tmp_path_factory):
    return seeded_store(tmp_path_factory.mktemp("notebooks") / "seeded.db", seed=5, ticks=4000)


def kernel_manager() -> KernelManager:
    km = KernelManager(kernel_name="python3", kernel_spec_manager=KernelSpecManager(kernel_dirs=[]))
    assert km.kernel_spec.argv[0] == sys.executable, km.kernel_spec.argv
    return km


def outputs_text(nb) -> str:
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            parts.append(out.get("text", ""))
            for value in out.get("data", {}).values():
                parts.append(value if isinstance(value, str) else str(value))
    return "\n".join(parts)


@pytest.mark.parametrize("name", EXPECTED)
def test_notebook_runs_top_to_bottom_offline(name, seeded_db, monkeypatch):
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and not any(c.outputs or c.execution_count for c in code), "store notebooks without outputs"
    assert any(re.search(r"pn\.extension\([^)]*inline=True", c.source) for c in code)

    monkeypatch.setenv("SEAMLESS_DB", str(seeded_db))
    client = NotebookClient(
        nb, km=kernel_manager(), kernel_name="python3", timeout=300, resources={"metadata": {"path": str(NOTEBOOKS)}}
    )
    client.execute()  # raises CellExecutionError naming the cell on any error
    assert all(c.execution_count for c in code), "every code cell ran"
    assert not [o for c in code for o in c.outputs if o.output_type == "error"]

    text = outputs_text(nb)
    assert str(seeded_db) in text, "the notebook used the store named by SEAMLESS_DB"
    # A load script lists the CDN addresses of libraries it inlined, to *skip* fetching them
    # when the page already has them: those lists are not fetches.
    fetched = SKIP_LISTS.sub("", text)
    assert not [h for h in CDN_HOSTS if h in fetched], "a resource from a CDN: pn.extension(inline=True)?"
    lists = URL_LISTS.findall(text)
    assert lists, "no Bokeh/Panel load script in the outputs"
    assert all(not urls.strip() for _, urls in lists), [u for u in lists if u[1].strip()][:3]
    assert "BEGIN bokeh.min.js" in text, "BokehJS itself is inlined"
    assert not REMOTE_TAG.search(text)
    # Note: the inlined BokehJS bundle mentions cdn.jsdelivr.net in code that fetches MathJax
    # or Tabler icons only when a model uses them; no notebook here does, so it is not checked.
