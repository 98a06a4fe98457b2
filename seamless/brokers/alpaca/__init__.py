"""The Alpaca adapter: an Alpaca account (paper or live) behind :class:`~seamless.brokers.Broker`.

- :mod:`.rest`: Alpaca's REST API over one HTTP session: timeouts, 429 with Retry-After and
  5xx retried with backoff, a lost answer told apart from a refused connection, keys kept
  out of every message;
- :mod:`.stream`: the ``trade_updates`` websocket, reconnected with backoff;
- :mod:`.broker`: :class:`AlpacaBroker`: orders by client order id, the account, positions,
  and fills numbered by their place in the account's FILL activities (the cursor).

Answers are parsed with alpaca-py's own models (``alpaca.trading.models``).
"""

from .broker import AlpacaBroker, AlpacaEndpoints
from .rest import AlpacaRest

__all__ = ["AlpacaBroker", "AlpacaEndpoints", "AlpacaRest"]
