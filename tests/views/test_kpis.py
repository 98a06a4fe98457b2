"""The overview's KPI tiles: the figures as the trader reads them, and a change only when a
figure shown changed (each change is a message to every session)."""

from __future__ import annotations

from seamless.views.kpis import KpiTiles
from seamless.views.palette import AMBER, GREEN, RED

FIGURES = {
    "equity": 100_012.345,
    "daily": 12.3449,
    "limit": 5_000.0,
    "used": 0.0,
    "exposure": 39_596.6,
    "open_orders": 2,
    "fills_today": 60,
}


def test_the_tiles_show_each_figure_formatted():
    tiles = KpiTiles()
    tiles.show(FIGURES)
    text = tiles.pane.text
    for shown in ("$100,012.35", "+$12.34", "$39,597", ">2<", ">60<", "0% of $5,000.00"):
        assert shown in text, (shown, text)
    assert f'style="color: {GREEN}">+$12.34' in text


def test_a_loss_reads_signed_in_red_and_fills_the_limits_bar():
    tiles = KpiTiles()
    tiles.show({**FIGURES, "daily": -4_100.0, "used": 82.0})
    text = tiles.pane.text
    assert f'style="color: {RED}">−$4,100.00' in text
    assert 'aria-valuenow="82"' in text and f"width: 82%; background: {RED}" in text
    tiles.show({**FIGURES, "daily": -2_600.0, "used": 52.0})
    assert f"width: 52%; background: {AMBER}" in tiles.pane.text
    tiles.show({**FIGURES, "limit": 0.0})
    assert ">no limit<" in tiles.pane.text


def test_unchanged_figures_send_nothing(monkeypatch):
    tiles = KpiTiles()
    tiles.show(FIGURES)
    sent = []
    monkeypatch.setattr(tiles.pane, "set_text", sent.append)
    tiles.show({**FIGURES, "equity": 100_012.3499})  # shown to the cent: the same
    assert sent == []
    tiles.show({**FIGURES, "equity": 100_013.0})
    assert len(sent) == 1 and "$100,013.00" in sent[0]
