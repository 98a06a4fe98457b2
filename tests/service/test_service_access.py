"""Who may move money (seamless.service.access)."""

from __future__ import annotations

import pytest

from seamless.service.access import MONEY_MOVING, Access, NotAllowed

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


@pytest.mark.parametrize(
    "header",
    [
        "X-Forwarded-For",
        "x-forwarded-for",
        "X-FORWARDED-FOR",
        "Forwarded",
        "forwarded",
        "X-Real-IP",
        "x-real-ip",
        "X-Real-Ip",
    ],
)
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


@pytest.mark.parametrize(
    "ip, headers",
    [("203.0.113.9", {}), ("127.0.0.1", {"X-Forwarded-For": "1.2.3.4"}), (None, {"Forwarded": "for=1.2.3.4"})],
)
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
