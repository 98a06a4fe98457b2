"""The paper venue builds what it answers from what it just wrote, without reading it back, and
writes a mark without an fsync unless the mark fills something: what it answers is the file's
row read back, and a mark that fills is durable whoever placed the order it fills.

Real SQLite files in tmp_path; "another process" is a second connection to the same file.
"""

from __future__ import annotations

from pathlib import Path

from seamless.brokers import BrokerFill, BrokerRejected, OrderRequest, PaperBroker


class Clock:
    def __init__(self, t: float = 1_800_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        self.t += 0.5
        return self.t


def test_every_order_the_venue_answers_is_its_row_read_back(tmp_path: Path) -> None:
    pushed: list[BrokerFill] = []
    with PaperBroker(
        tmp_path / "b.db",
        starting_cash=1_000_000.0,
        slippage_bps=3.7,  # awkward prices: averages and cash that are not round
        commission_per_share=0.013,
        min_commission=1.0,
        partial_fills=True,
        clock=Clock(),
    ) as b:
        b.on_fill(pushed.append)
        b.mark("AAPL", 101.37)
        b.mark("MSFT", 333.33)
        requests = [
            OrderRequest("m1", "AAPL", 7),  # an int quantity (a REAL column reads back 7.0): 3 now
            OrderRequest("m2", "AAPL", -3.5),  # -1.75 now
            OrderRequest("m3", "MSFT", 13),  # partial: half now, the rest at the next mark
            OrderRequest("l1", "AAPL", 5, "limit", 100),  # below the mark: works
            OrderRequest("l2", "MSFT", -4, "limit", 340.0),  # above the mark: works
            OrderRequest("l3", "AAPL", 2, "limit", 102.0),  # crosses at once: fills whole
            OrderRequest("n1", "GOOG", 1),  # no mark: rejected with its reason
            OrderRequest("x1", "AAPL", 50_000),  # past the notional limit: rejected
        ]
        answers = {}
        for req in requests:
            try:
                answers[req.client_order_id] = b.submit(req)
            except BrokerRejected as e:
                assert e.order is not None
                answers[req.client_order_id] = e.order
            assert answers[req.client_order_id] == b.order(req.client_order_id)
        b.inject("reject", symbol="AAPL")
        try:
            b.submit(OrderRequest("r1", "AAPL", 1))
        except BrokerRejected as e:
            assert e.order == b.order("r1") and e.order.reason == "injected reject"
        assert b.submit(OrderRequest("m1", "AAPL", 7)) == b.order("m1") == answers["m1"]  # idempotent
        assert {o.status for o in answers.values()} == {"filled", "partially_filled", "accepted", "rejected"}
        assert [o.client_order_id for o in b.open_orders()] == ["m1", "m2", "m3", "l1", "l2"]

        for symbol, price in (("MSFT", 341.0), ("AAPL", 99.9), ("AAPL", 99.0)):
            filled = b.mark(symbol, price)
            for fill in filled:
                order = b.order(fill.client_order_id)
                assert order is not None and order.status in ("filled", "partially_filled")
        assert b.open_orders() == []
        assert pushed == b.fills_since(0)  # every report pushed once, in order
        assert [(f.client_order_id, f.qty) for f in pushed] == [
            ("m1", 3.0),
            ("m2", -1.75),
            ("m3", 6.0),
            ("l3", 2.0),
            ("m3", 7.0),
            ("l2", -4.0),
            ("m1", 4.0),
            ("m2", -1.75),
            ("l1", 5.0),
        ]
        with PaperBroker(tmp_path / "b.db", read_only=True) as reader:  # the file holds what was answered
            assert reader.fills_since(0) == pushed
            assert {c: reader.order(c) for c in answers} == {c: b.order(c) for c in answers}


def test_a_mark_is_fsynced_only_when_it_fills_whoever_placed_the_order(tmp_path: Path) -> None:
    db = tmp_path / "b.db"
    with PaperBroker(db, starting_cash=100_000.0) as runner, PaperBroker(db) as other:
        runner.mark("AAPL", 100.0)
        runner.mark("AAPL", 100.5)
        assert runner.durable_writes == 0  # nothing to fill: no fsync
        other.submit(OrderRequest("o1", "AAPL", 10, "limit", 99.0))  # placed by another connection
        before = runner.durable_writes
        assert runner.mark("AAPL", 100.2) == []  # working, not crossed: durable all the same
        assert runner.durable_writes == before + 1
        fills = runner.mark("AAPL", 98.5)
        assert runner.durable_writes == before + 2
        assert [(f.client_order_id, f.qty, f.price) for f in fills] == [("o1", 10.0, 98.5)]
        assert runner.fills_since(0) == fills  # filled once: the first attempt left nothing behind
        assert runner.last_mark("AAPL") == other.last_mark("AAPL") == 98.5
        assert other.order("o1").status == "filled"
        runner.mark("AAPL", 98.0)  # nothing works any more: back to no fsync
        assert runner.durable_writes == before + 3  # the guess from the last mark costs one
        runner.mark("AAPL", 97.0)
        assert runner.durable_writes == before + 3


def test_the_working_orders_are_found_by_their_index_in_new_and_older_files(tmp_path: Path) -> None:
    import sqlite3

    held = (  # what the venue reads at each buy: the cash the working buys hold
        "SELECT o.qty - o.filled_qty AS remaining, COALESCE(o.limit_price, m.price, 0) AS price "
        "FROM orders o LEFT JOIN marks m USING (symbol) WHERE o.status IN ('accepted', 'partially_filled') "
        "AND o.qty > 0"
    )

    def plan(db: Path) -> str:
        with sqlite3.connect(db) as c:
            return " / ".join(row[3] for row in c.execute("EXPLAIN QUERY PLAN " + held))

    new, old = tmp_path / "new.db", tmp_path / "old.db"
    for db in (new, old):
        with PaperBroker(db, starting_cash=100_000.0) as b:
            b.mark("AAPL", 100.0)
            b.submit(OrderRequest("m1", "AAPL", 10))
            b.submit(OrderRequest("l1", "AAPL", 5, "limit", 90.0))
    assert "USING INDEX orders_open" in plan(new) and "SCAN o" not in plan(new)
    with sqlite3.connect(old) as c:  # a file made before the index
        c.execute("DROP INDEX orders_open")
    assert "SCAN o" in plan(old)
    with PaperBroker(old, read_only=True) as reader:  # a reader adds nothing
        assert [o.client_order_id for o in reader.open_orders()] == ["l1"]
    assert "SCAN o" in plan(old)
    with PaperBroker(old) as b:  # a writer adds it, and finds the same orders through it
        assert [o.client_order_id for o in b.open_orders()] == ["l1"]
        try:
            b.submit(OrderRequest("big", "AAPL", 995))  # 450 of the cash is held by l1
        except BrokerRejected as e:
            assert "450.00 of it held by working buy orders" in e.reason
        else:
            raise AssertionError("a buy past the cash the working orders leave was placed")
    assert "USING INDEX orders_open" in plan(old)
