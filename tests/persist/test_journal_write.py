"""The journal's transaction: rows go in several to a statement, and come back as written,
in order; a row refused in a later statement leaves none of the transaction's rows."""

from __future__ import annotations

import pytest

from seamless.errors import StoreWriteFailed
from seamless.events import QuoteReceived
from seamless.persist import journal, open_writer


def quotes(first: int, n: int) -> list[journal.Row]:
    events = [QuoteReceived(symbol="AAPL", bid=100.0 + i / 100, ask=100.1 + i / 100, last=100.05) for i in range(n)]
    for i, ev in enumerate(events):
        ev._stamp(first + i, 1_700_000_000.0 + i)
    return journal.encode_all(events, 0)[0]


@pytest.mark.parametrize("n", [1, 3, 4, 5, 15, 16, 17, 63, 64, 65, 84, 100, 150, 333])
def test_a_batch_of_any_size_comes_back_row_for_row(tmp_path, n):
    conn = open_writer(tmp_path / "acct.db")
    rows = quotes(1, n)
    journal.write(conn, rows)
    journal.write(conn, quotes(n + 1, 2))  # a later transaction follows on
    back = list(journal.read_rows(conn))
    assert back[:n] == rows
    assert [r[0] for r in back] == list(range(1, n + 3))
    for row in back:
        journal.verify(row)


def test_a_row_refused_in_a_later_statement_leaves_none_of_the_transaction(tmp_path):
    conn = open_writer(tmp_path / "acct.db")
    journal.write(conn, quotes(1, 10))
    rows = quotes(11, 100)
    rows[90] = quotes(5, 1)[0]  # seq 5 again: the third statement is refused, after two went in
    with pytest.raises(StoreWriteFailed, match=r"events seq 11\.\.110"):
        journal.write(conn, rows, path="acct.db")
    assert not conn.in_transaction
    assert [r[0] for r in journal.read_rows(conn)] == list(range(1, 11))
    journal.write(conn, quotes(11, 3))  # the connection goes on
    assert journal.last_seq(conn) == 13
