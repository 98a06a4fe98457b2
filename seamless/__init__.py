"""Seamless: live-trading state done right.

Layers, each depending only downward:
``events`` (what happened) -> ``params`` (state objects) -> ``apply`` (pure planners)
-> ``persist`` (journal, snapshots, recovery) -> ``bus`` (subscribers) -> ``store`` (commit/read).
"""

from .errors import SeamlessError

__version__ = "0.1.0"
__all__ = ["SeamlessError", "__version__"]
