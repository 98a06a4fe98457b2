"""The dashboard's colours, named once: states, gains and losses, toasts, charts."""

GREEN = "#1e8449"  # running, ACTIVE, connected, a gain, a buy, a rising bar, success
AMBER = "#b9770e"  # paused, REDUCING, stale, a warning
RED = "#c0392b"  # halted, error, unreachable, a loss, a sell, a falling bar
BLUE = "#2471a3"  # information, a reconciliation running
GREY = "#5d6d7e"  # stopped, nothing yet
INK = "#1f3a5f"  # figures and lines with no sign; the header's bar
PURPLE = "#8e44ad"  # a chart's fourth series
