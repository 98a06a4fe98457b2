"""The one configuration (seamless.config): defaults, environment, flags, and one-line errors."""

from __future__ import annotations

import pytest

from seamless.config import Config, ConfigError


def test_defaults():
    c = Config.load({}, [])
    assert (c.db, c.broker, c.broker_db, c.feed, c.replay_file) == ("seamless.db", "paper", "", "sim", "")
    assert c.symbols == ["AAPL", "MSFT", "GOOG", "IBM"] and c.strategies == ["ma_cross"]
    assert (c.seed, c.volatility, c.speed) == (0, 0.2, None)
    assert (c.daily_loss_limit, c.max_position, c.reconcile_interval) == (5000.0, 1000.0, 30.0)
    assert c.autostart is True and c.max_rate == 2.0 and c.stale_after == 5.0


def test_unrelated_environment_is_ignored():
    c = Config.load({"SPEED": "9", "SEAMLESS": "x", "seamless_speed": "7", "PATH": "/bin"}, [])
    assert c.speed is None


def test_speed_from_environment_and_argv_and_argv_wins():
    assert Config.load({"SEAMLESS_SPEED": "2.5"}, []).speed == 2.5
    assert Config.load({}, ["--speed", "4"]).speed == 4.0
    assert Config.load({}, ["--speed=0"]).speed == 0.0  # bounds (0, None) include 0
    assert Config.load({"SEAMLESS_SPEED": "2.5"}, ["--speed", "7"]).speed == 7.0


def test_a_bad_environment_value_is_an_error_even_when_argv_sets_it():
    # the environment is parsed first: a bad variable is an error even when --args overrides it
    with pytest.raises(ConfigError, match="SEAMLESS_SPEED"):
        Config.load({"SEAMLESS_SPEED": "fast"}, ["--speed", "2"])


def test_dashed_flags_and_underscored_variables(tmp_path):
    bars = tmp_path / "x.csv"
    bars.write_text("date,open,high,low,close\n")
    c = Config.load(
        {"SEAMLESS_MAX_RATE": "20", "SEAMLESS_DAILY_LOSS_LIMIT": "100"},
        ["--stale-after", "2.5", "--replay-file", str(bars), "--feed", "replay"],
    )
    assert (c.max_rate, c.daily_loss_limit, c.stale_after) == (20.0, 100.0, 2.5)
    assert (c.replay_file, c.feed) == (str(bars), "replay")


@pytest.mark.parametrize("raw", ["AAPL,MSFT", "AAPL MSFT", " AAPL , MSFT ", "AAPL,,MSFT", "AAPL\tMSFT"])
def test_lists(raw):
    assert Config.load({"SEAMLESS_SYMBOLS": raw}, []).symbols == ["AAPL", "MSFT"]
    assert Config.load({}, ["--symbols", raw]).symbols == ["AAPL", "MSFT"]


def test_list_argv_wins():
    c = Config.load({"SEAMLESS_STRATEGIES": "ma_cross"}, ["--strategies", "breakout,ma_cross"])
    assert c.strategies == ["breakout", "ma_cross"]


@pytest.mark.parametrize(
    "raw, value", [("1", True), ("0", False), ("true", True), ("FALSE", False), ("Yes", True), ("no", False)]
)
def test_booleans(raw, value):
    assert Config.load({"SEAMLESS_AUTOSTART": raw}, []).autostart is value
    assert Config.load({}, ["--autostart", raw]).autostart is value


def test_integer_seed():
    assert Config.load({"SEAMLESS_SEED": "42"}, []).seed == 42
    assert Config.load({}, ["--seed", "-3"]).seed == -3


def _error(environ, argv) -> str:
    with pytest.raises(ConfigError) as e:
        Config.load(environ, argv)
    return str(e.value)


@pytest.mark.parametrize(
    "name, raw",
    [
        ("SPEED", "fast"),
        ("SPEED", "NaN"),
        ("SPEED", "nan"),
        ("SPEED", ""),
        ("SEED", "1.5"),
        ("SEED", "x"),
        ("AUTOSTART", "maybe"),
        ("AUTOSTART", ""),
        ("SYMBOLS", " , "),
        ("FEED", "live"),
        ("BROKER", "ib"),
        ("MAX_RATE", "ten"),
    ],
)
def test_bad_environment_values_name_the_variable_and_the_value(name, raw):
    msg = _error({f"SEAMLESS_{name}": raw}, [])
    assert f"SEAMLESS_{name}" in msg and repr(raw) in msg, msg


@pytest.mark.parametrize(
    "flag, raw",
    [
        ("--speed", "fast"),
        ("--speed", "nan"),
        ("--seed", "1.5"),
        ("--autostart", "maybe"),
        ("--feed", "live"),
        ("--symbols", ","),
        ("--max-rate", "NaN"),
    ],
)
def test_bad_flag_values_name_the_flag_and_the_value(flag, raw):
    msg = _error({}, [flag, raw])
    assert flag in msg and repr(raw) in msg, msg


def test_selector_error_lists_the_choices():
    msg = _error({"SEAMLESS_FEED": "live"}, [])
    assert "sim" in msg and "replay" in msg


@pytest.mark.parametrize("argv", [["--speeed", "2"], ["--foo"], ["--foo", "bar"], ["extra"]])
def test_unknown_flags_are_named(argv):
    msg = _error({}, argv)
    assert "unknown" in msg and argv[0] in msg, msg
    assert "--speed" in msg  # the known settings are listed


def test_flag_without_value():
    msg = _error({}, ["--speed"])
    assert "--speed" in msg


OUT_OF_BOUNDS = [
    ("SPEED", "-1"),
    ("VOLATILITY", "-0.5"),
    ("MAX_RATE", "0"),
    ("MAX_RATE", "-2"),
    ("DAILY_LOSS_LIMIT", "0"),
    ("MAX_POSITION", "-10"),
    ("RECONCILE_INTERVAL", "0"),
    ("STALE_AFTER", "-1"),
]


@pytest.mark.parametrize("name, raw", OUT_OF_BOUNDS)
def test_out_of_bounds_values_say_what_is_allowed_without_internals(name, raw):
    msg = _error({f"SEAMLESS_{name}": raw}, [])
    assert "must be a number >" in msg, msg
    assert "parameter" not in msg and "Config" not in msg, msg  # no param internals


@pytest.mark.parametrize("name, raw", OUT_OF_BOUNDS)
def test_out_of_bounds_environment_values_name_the_variable(name, raw):
    msg = _error({f"SEAMLESS_{name}": raw}, [])
    assert f"SEAMLESS_{name}" in msg and raw in msg, msg


@pytest.mark.parametrize("argv", [["--speed", "-1"], ["--speed=-1"], ["--max-rate", "0"]])
def test_out_of_bounds_flag_values_name_the_flag(argv):
    msg = _error({}, argv)
    flag = argv[0].split("=")[0]
    assert flag in msg, msg


def test_abbreviated_flag_is_not_silently_accepted():
    _error({}, ["--spe", "2"])


def test_ambiguous_flag_is_a_config_error_not_an_exit():
    _error({}, ["--max", "3"])


def test_ipv4_mapped_loopback_is_local():
    from seamless.service.access import Access

    assert Access.of(None, "::ffff:127.0.0.1", {}).may("flatten")
    assert not Access.of(None, "::ffff:203.0.113.9", {}).may("flatten")


# -- what one value's type cannot say -----------------------------------------------------------


@pytest.mark.parametrize(
    "name, raw",
    [
        ("DAILY_LOSS_LIMIT", "inf"),
        ("MAX_POSITION", "-inf"),
        ("SPEED", "inf"),
        ("DURATION", "-1"),
        ("MAX_TICKS", "0"),
        ("STOP_LOSS_PCT", "1.5"),
    ],
)
def test_infinite_and_out_of_range_values_are_refused(name, raw):
    msg = _error({f"SEAMLESS_{name}": raw}, [])
    assert msg.startswith(f"SEAMLESS_{name}={raw!r}: must be"), msg


def test_the_store_path_is_checked_before_anything_is_opened(tmp_path):
    assert "does not exist" in _error({"SEAMLESS_DB": str(tmp_path / "no" / "x.db")}, [])
    assert "is a directory" in _error({}, ["--db", str(tmp_path)])
    assert list(tmp_path.iterdir()) == []  # nothing was created


def test_names_are_checked(tmp_path):
    assert "unknown strategy 'nope'; known: breakout, ma_cross" in _error({}, ["--strategies", "ma_cross,nope"])
    assert "'aapl' is not a symbol" in _error({"SEAMLESS_SYMBOLS": "aapl"}, [])
    msg = _error({}, ["--feed", "replay", "--replay-file", str(tmp_path / "bars.csv")])
    assert msg == f"--replay-file={str(tmp_path / 'bars.csv')!r}: no such file"


def test_the_paper_broker_lives_beside_the_store_unless_named():
    assert Config.load({}, ["--db", "acct.db"]).broker_path == "acct.broker.db"
    assert Config.load({"SEAMLESS_BROKER_DB": "b.db"}, ["--db", "acct.db"]).broker_path == "b.db"
