"""The layers of docs/architecture.md, checked against every import in the package.

A package may import only packages of lower layers (imports inside functions count too),
and no module imports itself back through others at import time.
"""

from __future__ import annotations

import ast
import collections
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "seamless"

#: Lowest first. Keep docs/architecture.md's table the same.
LAYERS: list[set[str]] = [
    {"errors", "compat", "fmt"},
    {"events"},
    {"params"},
    {"apply", "bus"},
    {"persist"},
    {"store", "replay"},
    {"brokers", "feeds", "notify", "fakes", "mirror"},
    {"reconcile"},
    {"engine"},
    {"push"},
    {"config"},
    {"wiring", "ops"},
    {"service", "analysis"},
    {"views"},
    {"bench"},
    {"cli"},
]
LAYER = {name: i for i, names in enumerate(LAYERS) for name in names}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, *, top_level_only: bool) -> set[str]:
    """The seamless modules ``path`` imports (``from . import x`` names module ``x``)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    out: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.split(".")[0] == "seamless"}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "seamless":
                continue
            folder = PACKAGE.parent / target.replace(".", "/")
            modules = {a.name for a in node.names if (folder / f"{a.name}.py").exists() or (folder / a.name).is_dir()}
            out |= {f"{target}.{m}" for m in modules}
            if len(modules) < len(node.names):
                out.add(target)
    return out


def layer_of(module: str) -> tuple[str, int]:
    parts = module.split(".")
    top = parts[1] if len(parts) > 1 else "seamless"
    return top, LAYER.get(top, -1)


def test_every_package_has_a_layer():
    packages = {
        p.stem if p.is_file() else p.name
        for p in PACKAGE.iterdir()
        if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").exists()
    }
    assert packages - set(LAYER) == set()
    assert set(LAYER) - packages == set()  # the table names only what exists


def test_each_package_imports_only_lower_layers():
    wrong = []
    for path in PACKAGE.rglob("*.py"):
        source, source_layer = layer_of(module_name(path))
        if source == "seamless":  # the package's own __init__: re-exports, lowest layers only
            source_layer = 1
        for target in imports(path, top_level_only=False):
            name, target_layer = layer_of(target)
            if name in (source, "seamless"):
                continue
            if target_layer >= source_layer:
                wrong.append(f"{module_name(path)} imports {target} (layer {target_layer} >= {source_layer})")
    assert wrong == [], "\n".join(sorted(wrong))


def test_no_import_cycles():
    graph = {module_name(p): imports(p, top_level_only=True) for p in PACKAGE.rglob("*.py")}
    cycles = []
    state: dict[str, int] = collections.defaultdict(int)  # 0 new, 1 on the path, 2 done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state[nxt] == 1:
                cycles.append(" -> ".join(path[path.index(nxt) :] + [nxt]))
            elif state[nxt] == 0:
                visit(nxt, path + [nxt])
        state[node] = 2

    for module in sorted(graph):
        if state[module] == 0:
            visit(module, [module])
    assert cycles == []


def test_the_checks_see_imports():
    # Guard against a checker that passes on nothing found.
    store = imports(PACKAGE / "store" / "store.py", top_level_only=True)
    assert "seamless.persist.journal" in store and "seamless.bus" in store
    assert "seamless.notify.targets" in imports(PACKAGE / "config.py", top_level_only=False)
