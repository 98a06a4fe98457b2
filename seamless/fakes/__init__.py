"""Loopback venues for tests and demos: remote services Seamless talks to, served on this
machine with their real protocols, so an adapter is tested through the very code that
talks to the real one.

- :mod:`.alpaca`: Alpaca's trading REST API, trade-updates stream and market-data stream
  (``seamless fake-alpaca --port N``).
"""
