"""Crash-test writer: ``python tests/store/crash_writer.py DB START_UNIT``.

Opens ``Store(DB)`` and commits atomic units forever, one ``commit_all`` of three
critical events per unit (submitting, accepted, filled), with non-critical quotes
in between.  After each unit's ``commit_all`` returns it prints ``ACK <unit> <seq>``
(``seq`` of the unit's last event) and flushes: a printed ACK is an acknowledged,
durable unit.  tests/store/test_crash.py SIGKILLs it at random moments.

The next unit number and the quote clock continue from what the store holds, so
client order ids stay unique across restarts; START_UNIT is the test's own count
(the larger of the two wins).
"""

from __future__ import annotations

import random
import sys

from seamless.events import OrderAccepted, OrderFilled, OrderSubmitting, QuoteReceived
from seamless.store import Store

SYMBOL = "AAPL"


def main() -> None:
    db, start_unit = sys.argv[1], int(sys.argv[2])
    store = Store(db, snapshot_every=50, flush_interval_s=0.005)
    fills = store.state.orders.fills  # the most recent fills, oldest first; trade ids are t<unit>
    unit = max([start_unit] + [int(f.trade_id[1:]) + 1 for f in fills])
    quote = store.state.market.quotes.get(SYMBOL)
    exchange_ts = quote.exchange_ts if quote is not None and quote.exchange_ts is not None else 1_700_000_000.0
    rnd = random.Random(unit)
    print(f"READY {unit} {store.seq} {store.restored_from_snapshot}", flush=True)
    while True:
        i = unit
        events = store.commit_all(
            [
                OrderSubmitting(client_order_id=f"u{i}", symbol=SYMBOL, qty=1),
                OrderAccepted(client_order_id=f"u{i}", broker_order_id=f"b{i}"),
                OrderFilled(trade_id=f"t{i}", client_order_id=f"u{i}", symbol=SYMBOL, qty=1, price=100.0 + i % 7),
            ]
        )
        print(f"ACK {i} {events[-1].seq}", flush=True)
        for _ in range(rnd.randint(0, 3)):
            exchange_ts += 0.25
            store.commit(QuoteReceived(symbol=SYMBOL, last=100.0 + rnd.randint(0, 50) / 10, exchange_ts=exchange_ts))
        unit += 1


if __name__ == "__main__":
    main()
