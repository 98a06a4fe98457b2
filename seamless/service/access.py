"""Who is acting, and whether they may move money: :mod:`seamless.ops.access` (the endpoints
hold the same rule for the event stream, so it lives below both)."""

from ..ops.access import MONEY_MOVING, Access, NotAllowed

__all__ = ["MONEY_MOVING", "Access", "NotAllowed"]
