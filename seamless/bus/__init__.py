"""Where events are pushed to subscribers: topics, state watches, isolation, counters."""

from .bus import Bus, StateChange, Subscription

__all__ = ["Bus", "StateChange", "Subscription"]
