"""docs/troubleshooting.md against the code: every message Seamless can print is in it.

What counts as a message (found by walking the AST of every module under ``seamless/``, and
``app.py``):

- an exception of one of Seamless's own classes built with a message: ``raise X("...")``, or
  ``X(f"...")`` returned and raised elsewhere, where ``X`` is a subclass of
  :class:`seamless.errors.SeamlessError` or another exception class defined in ``seamless``
  (``NotAllowed``, ``FeedClosed``...), and the message an exception class makes itself
  (``super().__init__(f"...")`` in its body); ``X`` is resolved by importing the modules (in a
  subprocess, so that no module's import side effects reach the other tests);
- ``raise helper("...")``, where a helper builds the error (``raise self.fail("db", "...")``);
  built-in exceptions (``raise ValueError(...)``) are a caller's programming error, not listed;
- a warning (``warnings.warn("...")``);
- a line the CLI prints to stderr (``print(..., file=sys.stderr)`` in ``seamless/cli.py``);
- the dashboard's start-up alert (``pn.pane.Alert(...)`` in ``app.py``);
- a log record at WARNING or above (``log.warning/error/exception/critical("...")``).

For each, the longest literal fragment of its message (a string constant, the constant parts
of an f-string, or a %-format string split at its placeholders) must appear in
docs/troubleshooting.md, whitespace aside; fragments shorter than ``MIN_FRAGMENT`` characters
say too little to find and are skipped. And every SeamlessError subclass (and every other
exception class defined in ``seamless``) has a heading of its own there.

A new message without its entry fails here, naming the file and line: add the message, what
it means and what to do under its class's heading.
"""

from __future__ import annotations

import ast
import builtins
import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "troubleshooting.md"
MIN_FRAGMENT = 12
LOG_LEVELS = {"warning", "warn", "error", "exception", "critical", "fatal"}

# Run in a subprocess: imports every module under seamless/ and lists the exception classes
# defined in the package: name -> [module, is a SeamlessError subclass].
_CLASSES_SCRIPT = r"""
import importlib, inspect, json, pkgutil, sys
import seamless
from seamless.errors import SeamlessError
out, failed = {}, {}
for info in pkgutil.walk_packages(seamless.__path__, "seamless."):
    try:
        mod = importlib.import_module(info.name)
    except Exception as e:
        failed[info.name] = f"{type(e).__name__}: {e}"
        continue
    for name, obj in vars(mod).items():
        if inspect.isclass(obj) and issubclass(obj, BaseException) and obj.__module__.startswith("seamless"):
            out[f"{obj.__module__}.{obj.__qualname__}"] = [obj.__name__, issubclass(obj, SeamlessError)]
json.dump({"classes": out, "failed": failed}, sys.stdout)
"""


@dataclass(frozen=True)
class Message:
    where: str  # file:line
    kind: str  # the exception class, "log", "cli" or "app"
    fragments: tuple[str, ...]  # the literal parts of the message

    @property
    def longest(self) -> str:
        return max(self.fragments, key=len, default="")


@pytest.fixture(scope="module")
def classes() -> dict[str, tuple[str, bool]]:
    """Exception classes defined in seamless: qualified name -> (name, is a SeamlessError)."""
    done = subprocess.run(
        [sys.executable, "-c", _CLASSES_SCRIPT], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert not found["failed"], f"modules that do not import: {found['failed']}"
    return {k: tuple(v) for k, v in found["classes"].items()}


def _sources() -> list[Path]:
    return sorted((REPO / "seamless").rglob("*.py")) + [REPO / "app.py"]


def _fragments(node: ast.AST, scope: ast.AST | None, percent: bool = False) -> list[str]:
    """The literal parts of a message expression (``scope``: where to look a name up)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return re.split(r"%[-#0 +]*\d*(?:\.\d+)?[sdrifgexXc%]", node.value) if percent else [node.value]
    if isinstance(node, ast.JoinedStr):
        return [v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str)]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _fragments(node.left, scope, percent) + _fragments(node.right, scope, percent)
    if isinstance(node, ast.IfExp):
        return _fragments(node.body, scope, percent) + _fragments(node.orelse, scope, percent)
    if isinstance(node, ast.Name) and scope is not None:  # msg = f"..."; log.warning(msg)
        for n in ast.walk(scope):
            if isinstance(n, ast.Assign) and any(isinstance(t, ast.Name) and t.id == node.id for t in n.targets):
                return _fragments(n.value, None, percent)
    return []


def _walk(node: ast.AST, scope: ast.AST | None = None, cls: ast.ClassDef | None = None, raised: bool = False):
    """(node, innermost function around it, innermost class around it, is it what a raise raises)."""
    for child in ast.iter_child_nodes(node):
        inner = child if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) else scope
        owner = child if isinstance(child, ast.ClassDef) else cls
        is_raised = isinstance(node, ast.Raise) and child is node.exc
        yield child, inner, owner, is_raised
        yield from _walk(child, inner, owner)


def _call_name(func: ast.AST) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _builtin_exception(name: str) -> bool:
    obj = getattr(builtins, name, None)
    return isinstance(obj, type) and issubclass(obj, BaseException)


def messages(exception_names: set[str]) -> list[Message]:
    """Every message in the sources; ``exception_names``: the exception classes defined in seamless."""
    out: list[Message] = []
    for path in _sources():
        rel = path.relative_to(REPO).as_posix()
        tree = ast.parse(path.read_text(), filename=rel)
        for node, scope, cls, raised in _walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = _call_name(node.func)
            where = f"{rel}:{node.lineno}"
            func = ast.unparse(node.func)
            if name in exception_names:
                out.append(Message(where, name, tuple(f for a in node.args for f in _fragments(a, scope))))
            elif func == "super().__init__" and cls is not None and cls.name in exception_names:
                out.append(Message(where, cls.name, tuple(f for a in node.args for f in _fragments(a, None))))
            elif raised and name is not None and not _builtin_exception(name):
                out.append(Message(where, f"raise {func}", tuple(f for a in node.args for f in _fragments(a, None))))
            elif func in ("warnings.warn", "warn") and node.args:
                out.append(Message(where, "warning", tuple(_fragments(node.args[0], scope))))
            elif (
                isinstance(node.func, ast.Attribute)
                and node.func.attr in LOG_LEVELS
                and node.args
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id in ("log", "logger", "logging")
            ):
                out.append(Message(where, "log", tuple(_fragments(node.args[0], scope, percent=True))))
            elif (
                name == "print"
                and rel == "seamless/cli.py"
                and node.args
                and any(k.arg == "file" and ast.unparse(k.value) == "sys.stderr" for k in node.keywords)
            ):
                out.append(Message(where, "cli", tuple(_fragments(node.args[0], scope))))
            elif name == "Alert" and rel == "app.py" and node.args:
                out.append(Message(where, "app", tuple(_fragments(node.args[0], scope))))
    return out


def _normal(text: str) -> str:
    return " ".join(text.split())


def test_every_message_is_documented(classes):
    names = {name for name, _ in classes.values()}
    found = messages(names)
    assert len([m for m in found if m.kind in names]) > 50, "the walk found too few raises"
    doc = _normal(DOC.read_text())
    missing = [
        f"{m.where} ({m.kind}): {m.longest!r}"
        for m in found
        if len(_normal(m.longest)) >= MIN_FRAGMENT and _normal(m.longest) not in doc
    ]
    assert not missing, (
        "messages missing from docs/troubleshooting.md (add each under its class's "
        "heading, with what it means and what to do):\n  " + "\n  ".join(missing)
    )


def test_every_error_class_has_a_heading(classes):
    headings = {
        m.group(1) for m in re.finditer(r"^#{2,4}\s+`?([A-Za-z_][A-Za-z0-9_]*)`?\s*$", DOC.read_text(), re.MULTILINE)
    }
    assert any(seamless_error for _, seamless_error in classes.values())
    missing = sorted({name for name, _ in classes.values()} - headings)
    assert not missing, f"error classes without a heading in docs/troubleshooting.md: {', '.join(missing)}"
