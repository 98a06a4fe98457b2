"""Where state lives: param objects that only the store may change."""

from .base import StateObject, store_writes
from .records import Fill, Mismatch, Monitor, Order, Position, Quote, Record, Signal
from .state import PART_CLASSES, PARTS, State, Values, initial_values

__all__ = [
    "StateObject",
    "store_writes",
    "State",
    "Values",
    "PARTS",
    "PART_CLASSES",
    "initial_values",
    "Record",
    "Position",
    "Quote",
    "Signal",
    "Monitor",
    "Order",
    "Fill",
    "Mismatch",
]
