"""Where events are applied: pure planners from (state, event) to changes."""

from . import control, market, trading  # noqa: F401  (registers the planners)
from .projection import Changes, Projection, check_complete, plan, planner

check_complete()

__all__ = ["Changes", "Projection", "plan", "planner"]
