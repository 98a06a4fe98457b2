"""Notifications to a person's phone or chat, through apprise (Telegram, Slack, e-mail, ntfy...).

- ``messages``: which events become which messages (pure);
- ``readiness``: whether the account is ready, from its state;
- ``bucket``: the rate limit, a token bucket;
- ``targets``: the apprise URLs, and their secrets kept out of everything shown;
- ``notifier``: the sender, :class:`~seamless.notify.notifier.Notifier`: a worker fed by
  queued bus subscriptions, with retry, the rate limit (excess coalesced into one summary)
  and counters, never on the writer's path.

Only the pure modules are imported here; ``targets`` and ``notifier`` import apprise, so a
command that sends nothing does not pay for it: import them by their module.
"""

from .bucket import TokenBucket
from .messages import KINDS, TOPICS, Message, message, summary
from .readiness import not_ready

__all__ = ["KINDS", "TOPICS", "Message", "message", "summary", "not_ready", "TokenBucket"]
