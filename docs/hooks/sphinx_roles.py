"""mkdocs hook: the docstrings' Sphinx roles as links in the API reference.

The docstrings name other objects the Sphinx way (``:class:`~seamless.store.Store```,
``:meth:`poll```); rendered as Markdown that leaves ``:class:`` before the code. This turns
each into an optional cross-reference that mkdocs-autorefs resolves to the object's entry
when the reference documents it (a ``~`` shows the last part of the name only), and into
plain code otherwise.
"""
from __future__ import annotations

import re
from typing import Any

ROLE = re.compile(r":(?:py:)?(?:class|func|meth|mod|attr|data|exc|obj):<code>(~?)([\w.]+)(\(\))?</code>")


def _link(match: re.Match[str]) -> str:
    tilde, target, call = match.groups()
    shown = target.rsplit(".", 1)[-1] if tilde else target
    return f'<autoref identifier="{target}" optional><code>{shown}{call or ""}</code></autoref>'


def on_page_content(html: str, **kwargs: Any) -> str:
    return ROLE.sub(_link, html)
