"""Who may move money (seamless.service.access) and the service's settings
(seamless.service.config): defaults, environment, --args, and clear errors."""
from __future__ import annotations

import pytest

from seamless.service.access import MONEY_MOVING, Access, NotAllowed
from seamless.service.config import ConfigError, ServiceConfig

SAFE = ("halt", "pause", "stop", "reconcile")

# -- Access ----------------------------------------------------------------------------------


def test_money_moving_commands_are_the_documented_ones():
    assert MONEY_MOVING == {"flatten", "close", "resume_trading", "reset_breach", "start", "resume"}
    assert not MONEY_MOVING & set(SAFE)


@pytest.mark.parametrize("ip", ["127.0.0.1", "127.0.0.2", "::1", "::1%lo"])
def test_local_loopback_may_do_everything(ip):
    a = Access.of(None, ip, {"Host": "localhost:5006", "User-Agent": "x"})
    assert a.local is True
    for command in (*MONEY_MOVING, *SAFE):
        assert a.may(command), command
        a.check(command)  # does not raise
    assert a.who == f"local@{ip}"


@pytest.mark.parametrize("header", ["X-Forwarded-For", "x-forwarded-for", "X-FORWARDED-FOR", "Forwarded",
                                    "forwarded", "X-Real-IP", "x-real-ip", "X-Real-Ip"])
def test_forwarded_request_without_user_may_only_reduce_risk(header):
    a = Access.of(None, "127.0.0.1", {header: "203.0.113.9"})
    assert a.forwarded is True and a.local is False
    for command in MONEY_MOVING:
        assert not a.may(command), command
        with pytest.raises(NotAllowed) as e:
            a.check(command)
        msg = str(e.value)
        assert msg.startswith(f"{command}:"), msg
        assert "log in" in msg and "via a proxy" in msg and "127.0.0.1" in msg
    for command in SAFE:
        assert a.may(command), command
        a.check(command)
    assert a.who == "remote@127.0.0.1 via proxy"  # the journal must not call a proxied client local


@pytest.mark.parametrize("ip", ["192.168.1.20", "10.0.0.1", "2001:db8::1", "0.0.0.0", "unknown", None, ""])
def test_non_loopback_without_user_may_only_reduce_risk(ip):
    a = Access.of(None, ip, {})
    assert a.forwarded is False and a.local is False
    for command in MONEY_MOVING:
        assert not a.may(command)
        with pytest.raises(NotAllowed, match=rf"^{command}: moves money") as e:
            a.check(command)
        assert a.remote_ip in str(e.value) and "via a proxy" not in str(e.value)
    for command in SAFE:
        assert a.may(command)
        a.check(command)
    assert a.remote_ip == (ip or "unknown")
    assert a.who == f"remote@{ip or 'unknown'}"  # never journaled as local


@pytest.mark.parametrize("ip, headers", [("203.0.113.9", {}), ("127.0.0.1", {"X-Forwarded-For": "1.2.3.4"}),
                                         (None, {"Forwarded": "for=1.2.3.4"})])
def test_authenticated_user_may_do_everything(ip, headers):
    a = Access.of("alice", ip, headers)
    for command in (*MONEY_MOVING, *SAFE):
        assert a.may(command), command
        a.check(command)
    assert a.who == "user:alice"


def test_empty_user_is_no_user():
    a = Access.of("", "203.0.113.9", {})
    assert a.user is None
    assert not a.may("flatten")
    assert a.who == "remote@203.0.113.9"


def test_not_allowed_is_a_permission_error():
    with pytest.raises(PermissionError):
        Access.of(None, "8.8.8.8", {}).check("start")


# -- ServiceConfig ---------------------------------------------------------------------------

def test_defaults():
    c = ServiceConfig.load({}, [])
    assert (c.db, c.broker, c.broker_db, c.feed, c.replay_file) == ("seamless.db", "paper", "", "sim", "")
    assert c.symbols == ["AAPL", "MSFT", "GOOG", "IBM"] and c.strategies == ["ma_cross"]
    assert (c.seed, c.volatility, c.speed) == (0, 0.2, 1.0)
    assert (c.daily_loss_limit, c.max_position, c.reconcile_interval) == (5000.0, 1000.0, 30.0)
    assert c.autostart is True and c.max_rate == 2.0 and c.stale_after == 5.0


def test_unrelated_environment_is_ignored():
    c = ServiceConfig.load({"SPEED": "9", "SEAMLESS": "x", "seamless_speed": "7", "PATH": "/bin"}, [])
    assert c.speed == 1.0


def test_speed_from_environment_and_argv_and_argv_wins():
    assert ServiceConfig.load({"SEAMLESS_SPEED": "2.5"}, []).speed == 2.5
    assert ServiceConfig.load({}, ["--speed", "4"]).speed == 4.0
    assert ServiceConfig.load({}, ["--speed=0"]).speed == 0.0  # bounds (0, None) include 0
    assert ServiceConfig.load({"SEAMLESS_SPEED": "2.5"}, ["--speed", "7"]).speed == 7.0


def test_a_bad_environment_value_is_an_error_even_when_argv_sets_it():
    # the environment is parsed first: a bad variable is an error even when --args overrides it
    with pytest.raises(ConfigError, match="SEAMLESS_SPEED"):
        ServiceConfig.load({"SEAMLESS_SPEED": "fast"}, ["--speed", "2"])


def test_dashed_flags_and_underscored_variables():
    c = ServiceConfig.load({"SEAMLESS_MAX_RATE": "20", "SEAMLESS_DAILY_LOSS_LIMIT": "100"},
                           ["--stale-after", "2.5", "--replay-file", "x.csv", "--feed", "replay"])
    assert (c.max_rate, c.daily_loss_limit, c.stale_after) == (20.0, 100.0, 2.5)
    assert (c.replay_file, c.feed) == ("x.csv", "replay")


@pytest.mark.parametrize("raw", ["AAPL,MSFT", "AAPL MSFT", " AAPL , MSFT ", "AAPL,,MSFT", "AAPL\tMSFT"])
def test_lists(raw):
    assert ServiceConfig.load({"SEAMLESS_SYMBOLS": raw}, []).symbols == ["AAPL", "MSFT"]
    assert ServiceConfig.load({}, ["--symbols", raw]).symbols == ["AAPL", "MSFT"]


def test_list_argv_wins():
    c = ServiceConfig.load({"SEAMLESS_STRATEGIES": "ma_cross"}, ["--strategies", "breakout,ma_cross"])
    assert c.strategies == ["breakout", "ma_cross"]


@pytest.mark.parametrize("raw, value", [("1", True), ("0", False), ("true", True), ("FALSE", False),
                                        ("Yes", True), ("no", False)])
def test_booleans(raw, value):
    assert ServiceConfig.load({"SEAMLESS_AUTOSTART": raw}, []).autostart is value
    assert ServiceConfig.load({}, ["--autostart", raw]).autostart is value


def test_integer_seed():
    assert ServiceConfig.load({"SEAMLESS_SEED": "42"}, []).seed == 42
    assert ServiceConfig.load({}, ["--seed", "-3"]).seed == -3


def _error(environ, argv) -> str:
    with pytest.raises(ConfigError) as e:
        ServiceConfig.load(environ, argv)
    return str(e.value)


@pytest.mark.parametrize("name, raw", [("SPEED", "fast"), ("SPEED", "NaN"), ("SPEED", "nan"), ("SPEED", ""),
                                       ("SEED", "1.5"), ("SEED", "x"), ("AUTOSTART", "maybe"),
                                       ("AUTOSTART", ""), ("SYMBOLS", " , "), ("FEED", "live"),
                                       ("BROKER", "ib"), ("MAX_RATE", "ten")])
def test_bad_environment_values_name_the_variable_and_the_value(name, raw):
    msg = _error({f"SEAMLESS_{name}": raw}, [])
    assert f"SEAMLESS_{name}" in msg and repr(raw) in msg, msg


@pytest.mark.parametrize("flag, raw", [("--speed", "fast"), ("--speed", "nan"), ("--seed", "1.5"),
                                       ("--autostart", "maybe"), ("--feed", "live"), ("--symbols", ","),
                                       ("--max-rate", "NaN")])
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


OUT_OF_BOUNDS = [("SPEED", "-1"), ("VOLATILITY", "-0.5"), ("MAX_RATE", "0"), ("MAX_RATE", "-2"),
                 ("DAILY_LOSS_LIMIT", "0"), ("MAX_POSITION", "-10"), ("RECONCILE_INTERVAL", "0"),
                 ("STALE_AFTER", "-1")]


@pytest.mark.parametrize("name, raw", OUT_OF_BOUNDS)
def test_out_of_bounds_values_are_config_errors(name, raw):
    msg = _error({f"SEAMLESS_{name}": raw}, [])
    assert name.lower() in msg and raw.lstrip("-").split(".")[0] in msg, msg


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
