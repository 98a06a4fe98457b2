"""Benchmarks: `seamless bench ...`; each prints figures beside a floor measured in the same run."""

from __future__ import annotations

import json
from typing import Any


def print_figures(res: dict[str, Any], as_json: bool) -> int:
    """One JSON object, or an aligned table of name and value."""
    if as_json:
        print(json.dumps(res))
    else:
        width = max(map(len, res))
        for k, v in res.items():
            print(f"{k:<{width}}  {v}")
    return 0
