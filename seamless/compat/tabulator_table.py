"""The dashboard's tables: Panel's Tabulator, lean for tables that change many times a second.

**What it patches.** Nothing of Panel's: :class:`LeanTable` is a subclass of
``pn.widgets.Tabulator`` that overrides its private ``_update_style``, ``_validate``,
``_process_df_and_convert_to_cds``, ``_get_data`` and ``_get_properties``, and uses its private
``_processed``, ``_data``, ``_patch``, ``_stream``, ``_update_cds``, ``_process_column`` and
``_filters``; it stores a new frame with ``compat.param_values.store_silently`` (param's
storage). Views make their tables with :func:`table_class` (``views.base.table``): the lean
class once :func:`install` ran (the dashboard's entry point), the plain :class:`Table`
otherwise.

**Why.** These tables are never styled, filtered, sorted by a header click or edited, and hold
numbers and text. Per change Panel would: build a pandas Styler, and send ``cell_styles``
under a fresh id with no styles (more messages than the patches themselves); convert the
frame for the browser through Bokeh's ``from_df`` (narwhals, ~1.5 ms a call, twice per
stream); write a patch into the frame one cell at a time (~0.2 ms a cell); on each new
frame, run the value's nine watchers (each comparing the old frame with the new), convert the
whole frame again after a stream, and work out the columns' configuration again for a frame
whose columns did not change. Here the caller hands over the new frame whole
(:meth:`Table.patch_to`, :meth:`Table.append`, :meth:`Table.replace`), the browser's columns
are copies of the frame's arrays (Bokeh patches them in place), and rows appended to every
session's table are converted once. Measured: the overview's update per fill 9.6 -> 4.0 ms a
session on the server's loop; a recent-fills append 1.4 -> 0.3-0.45 ms a session (50 tables, a
row each). The page gets the same ``patch`` and ``stream`` messages Panel's public
``patch()``/``stream()`` send (tests/compat).

**Versions.** Panel 1.9 (``TESTED``). At install it checks the version, the signatures of the
methods overridden or called, and that a Tabulator has the attributes used.

**Fallback.** :class:`Table`: Panel's Tabulator, whose ``patch_to``, ``append`` and ``replace``
set the value whole (public API; the page gets the whole table each time). Not Panel's public
``patch()``/``stream()``: on Panel 1.9 they leave behind the data a model made later starts
from (a tab opened again would show the rows as they were before).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import panel as pn

from .check import Patch, first, signature_is
from .param_values import store_silently

TESTED = {"panel": ">=1.9,<1.10"}

_Tabulator = pn.widgets.Tabulator
_BaseTable = pn.widgets.tables.BaseTable


class Table(_Tabulator):
    """Panel's Tabulator with :meth:`patch_to` and :meth:`append` through its public API: the
    type views hold, and what they get outside the tested versions."""

    def patch_to(self, new: pd.DataFrame, patch: dict[str, list[tuple[int, Any]]]) -> None:
        """Make ``new`` (same rows, same columns) the value; ``patch``: the cells of ``new``
        that differ from the value, by row position (what the lean table sends)."""
        self.value = new

    def append(self, rows: pd.DataFrame, value: pd.DataFrame | None = None) -> None:
        """Append ``rows`` (labelled after the value's last row); ``value``: the value with them
        appended, when the caller has it already (the same frame for every session)."""
        self.value = pd.concat([self.value, rows]) if value is None else value

    def replace(self, value: pd.DataFrame) -> None:
        """Make ``value`` the value, sent whole."""
        self.value = value


class LeanTable(Table):
    """:class:`Table` without the costs the module's docstring lists (private overrides)."""

    # The rows last converted for the browser: every session's table is given the same rows
    # object in turn (the views' shared plans), so one conversion serves them all.
    _converted: tuple[pd.DataFrame, dict | None] | None = None  # (rows, for the browser or None: not lean)
    _appending = False

    @staticmethod
    def _lean(df: pd.DataFrame) -> bool:
        """Numbers and text under plain labels: the frame's arrays go to the browser as they are."""
        return not (
            isinstance(df.index, pd.MultiIndex)
            or df.columns.nlevels > 1
            or "index" in df.columns
            or any(dt.kind not in "fiuO" for dt in df.dtypes)
        )

    def _update_style(self, recompute: bool = True) -> None:
        pass

    def _validate(self, *events: Any) -> None:
        _BaseTable._validate(self, *events)  # Tabulator's adds the Styler

    def _process_df_and_convert_to_cds(self, df: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
        if self.filters or self._filters or not self._lean(df):
            return super()._process_df_and_convert_to_cds(df)
        return df, self._convert(df)

    def _convert(self, df: pd.DataFrame) -> dict:
        """A lean frame's columns for the browser: copies of its arrays. Not the arrays
        themselves: Bokeh applies a patch to its model's columns in place, and the frames are
        shared by every session's table (one session's patch changed the frame the others
        still showed, so their next plan found nothing to send)."""
        data = {"index": df.index.to_numpy(copy=True)}
        for col in df.columns:
            data[col] = self._process_column(df[col].to_numpy(copy=True), col, df)
        return data

    def _get_data(self) -> tuple[pd.DataFrame, dict]:
        # Panel's _stream converts the whole value again only to keep it as ``_processed``,
        # which for a lean table is the value itself.
        if self._appending:
            return self.value, {}
        return super()._get_data()

    def _get_properties(self, doc: Any = None) -> dict[str, Any]:
        # A model made later (its tab opened again) starts from the value as it is now:
        # patch_to and append leave Panel's cached browser data behind.
        self._processed, self._data = self._get_data()
        return {**super()._get_properties(doc), "follow": False}  # new rows are not scrolled to

    def patch_to(self, new: pd.DataFrame, patch: dict[str, list[tuple[int, Any]]]) -> None:
        """Make ``new`` (same rows, same columns) the value; the browser gets only ``patch``,
        the cells of ``new`` that differ from the value, by row position."""
        store_silently(self, "value", new)
        self._processed = new
        self._patch(patch)

    def replace(self, value: pd.DataFrame) -> None:
        """Make ``value`` the value, sent whole; with the same columns of the same types as
        before, only the data goes (Panel would work out the columns' configuration again)."""
        old = self.value
        if (
            self.filters
            or self._filters
            or list(old.columns) != list(value.columns)
            or not old.dtypes.equals(value.dtypes)
            or not self._lean(value)
        ):
            self.value = value
            return
        store_silently(self, "value", value)
        self._update_cds()

    def append(self, rows: pd.DataFrame, value: pd.DataFrame | None = None) -> None:
        """Append ``rows`` (labelled after the value's last row); the browser gets only them."""
        store_silently(self, "value", pd.concat([self.value, rows]) if value is None else value)
        data = None if self.filters or self._filters else self._converted_once(rows)
        if data is None:  # filtered, or not lean: Panel's own conversion
            self._stream(self._process_df_and_convert_to_cds(rows)[1])
            return
        self._appending = True
        try:
            self._stream(data)
        finally:
            self._appending = False

    def _converted_once(self, rows: pd.DataFrame) -> dict | None:
        """``rows`` for the browser (None if not lean), converted once for all the tables given
        the same rows object in turn."""
        converted = LeanTable._converted
        if converted is None or converted[0] is not rows:
            converted = LeanTable._converted = (rows, self._convert(rows) if self._lean(rows) else None)
        return converted[1]


def table_class() -> type[Table]:
    """The class to make a table with: :class:`LeanTable` if installed, else :class:`Table`."""
    return LeanTable if PATCH.installed else Table


def _callable(name: str) -> str | None:
    return None if callable(getattr(_Tabulator, name, None)) else f"Tabulator.{name} is gone"


def _check() -> str | None:
    def sig(cls: type, name: str, *params: str) -> str | None:
        return signature_is(f"{cls.__name__}.{name}", getattr(cls, name, None), *params)

    problem = first(
        sig(_Tabulator, "_update_style", "self", "recompute"),
        sig(_Tabulator, "_validate", "self", "*events"),
        sig(_BaseTable, "_validate", "self", "*events"),
        sig(_Tabulator, "_process_df_and_convert_to_cds", "self", "df"),
        sig(_Tabulator, "_get_properties", "self", "doc"),
        sig(_Tabulator, "_get_data", "self"),
        sig(_Tabulator, "_update_cds", "self", "*events"),
        sig(_Tabulator, "_process_column", "self", "values", "col", "df"),
        _callable("_patch"),
        _callable("_stream"),
    )  # both wrapped by Panel's @updating
    if problem:
        return problem
    probe = _Tabulator(pd.DataFrame({"x": [1.0]}))
    missing = [a for a in ("_processed", "_data", "_filters") if not hasattr(probe, a)]
    return f"a Tabulator has no {', '.join(missing)}" if missing else None


PATCH = Patch("tabulator_table", TESTED, _check, lambda: None, lambda: None)
install, uninstall = PATCH.install, PATCH.uninstall
