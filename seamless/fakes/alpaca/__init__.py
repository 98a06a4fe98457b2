"""A loopback Alpaca: the part of Alpaca's v2 trading REST API, its trade-updates websocket
and its market-data websocket that Seamless uses, with its own price path and matching, its
own SQLite file, and fault injection (``seamless fake-alpaca --port N``).

- :mod:`.venue`: the account, orders, fills (as FILL activities), positions and prices, in SQLite;
- :mod:`.server`: Tornado handlers speaking Alpaca's JSON and websocket protocols, the faults.
"""

from .server import FAULTS, FakeAlpaca
from .venue import Venue

__all__ = ["FAULTS", "FakeAlpaca", "Venue"]
