"""seamless.compat.tabulator_js in a real page (``panel serve`` and Debian's Chromium, through
the helpers tests/browser uses): a table taken through patches, streams, removals and a replace
shows the same rows after each step with the page's Tabulator patch and without it."""

from __future__ import annotations

import json
from pathlib import Path

from seamless.bench.push import open_tab, serve

REPO = Path(__file__).resolve().parents[2]
APP = Path(__file__).parent / "table_app.py"
T = 30_000  # ms: this 2-core machine is shared with other browser tests

# [key, v, note] rows, None for NaN; the page's sync_table sends: replace, patch, stream (a NaN),
# remove (B gone, C changed, E added), remove, replace (reordered), patch+stream, remove (every
# row), replace. (No cell patched to NaN: sync_table sends None, which the page's float column
# takes as 0, patch or no patch.)
STEPS = [
    [["A", 1.0, "a"], ["B", 2.0, None], ["C", 3.0, "c"]],
    [["A", 1.5, "a"], ["B", 2.0, "b"], ["C", 3.0, "c"]],
    [["A", 1.5, "a"], ["B", 2.0, "b"], ["C", 3.0, "c"], ["D", None, "d"]],
    [["A", 1.5, "a"], ["C", 30.0, "c"], ["D", 4.0, "d"], ["E", 5.0, None]],
    [["C", 30.0, "c"], ["D", 4.0, "d"], ["E", 5.5, "e"], ["F", 6.0, "f"]],
    [["E", 5.5, "e"], ["C", 30.0, "c"]],
    [["E", 5.5, "e"], ["C", 31.0, "c"], ["G", 7.0, "g"]],
    [],
    [["H", 8.0, "h"]],
]

# The page's one table: its rows as Tabulator holds them, in load order and in the order shown
# ([key, v, note], NaN as null), and what the patch counted (null without it).
ROWS_JS = """() => {
  const found = [];
  const walk = (v) => {
    if (v.model && v.model.css_classes && v.model.css_classes.includes('compat-table') && v.tabulator) found.push(v);
    for (const c of (v.child_views || [])) walk(c);
  };
  for (const root of (Bokeh.index.roots ? [...Bokeh.index.roots] : Object.values(Bokeh.index))) walk(root);
  if (found.length !== 1) return null;
  const plain = (x) => (x === undefined || (typeof x === 'number' && isNaN(x))) ? null : x;
  const row = (d) => [plain(d.key), plain(d.v), plain(d.note)];
  const table = found[0].tabulator;
  return {data: table.getData().map(row), shown: table.getRows('active').map((r) => row(r.getData())),
          counts: window.__seamlessTables === undefined ? null : {...window.__seamlessTables}};
}"""


def rows_after_each_step(browser, work: Path, guard: bool) -> tuple[list, dict | None]:
    work.mkdir()
    steps = work / "steps.json"
    steps.write_text(json.dumps(STEPS))
    served = serve(APP, work, env={"SEAMLESS_TEST_GUARD": str(int(guard)), "SEAMLESS_TEST_STEPS": str(steps)}, cwd=REPO)
    page = None
    try:
        page = open_tab(browser, served.url)
        seen = []
        for want in STEPS:
            page.get_by_role("button", name="next").click()
            page.wait_for_function(
                f"(want) => {{ const r = ({ROWS_JS})(); "
                f"return r !== null && JSON.stringify(r.data) === JSON.stringify(want); }}",
                arg=want,
                timeout=T,
                polling=100,
            )
            got = page.evaluate(ROWS_JS)
            seen.append((got["data"], got["shown"]))
        return seen, got["counts"]
    except BaseException:
        print(f"--- panel serve {APP.name} ---\n{served.stderr_text()[-10_000:]}")
        raise
    finally:
        if page is not None:
            page.context.close()
        served.close()


def test_the_table_shows_the_same_rows_with_and_without_the_patch(browser, tmp_path):
    patched, counts = rows_after_each_step(browser, tmp_path / "patched", guard=True)
    assert counts is not None and counts["incremental"] > 0, counts  # rows taken one by one
    unpatched, no_counts = rows_after_each_step(browser, tmp_path / "unpatched", guard=False)
    assert no_counts is None, "outside the patch, nothing in the page's Tabulator prototype"
    assert patched == unpatched == [(rows, rows) for rows in STEPS]
