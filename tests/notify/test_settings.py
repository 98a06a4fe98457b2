"""The notification settings: defaults, the URLs from the environment only, errors that never
repeat a URL's secret."""

from __future__ import annotations

import pytest

from seamless.config import Config, ConfigError
from seamless.notify import KINDS


def test_defaults_send_nothing_and_would_send_every_kind():
    c = Config.load({}, [])
    assert c.notify_urls == [] and sorted(c.notify_events) == sorted(KINDS)
    assert (c.notify_rate, c.notify_not_ready_s) == (10.0, 60.0)


def test_urls_from_the_environment_comma_or_space_separated():
    c = Config.load({"SEAMLESS_NOTIFY_URLS": "json://127.0.0.1:9/a, json://u:p@127.0.0.1:9/b"}, [])
    assert c.notify_urls == ["json://127.0.0.1:9/a", "json://u:p@127.0.0.1:9/b"]


@pytest.mark.parametrize("how", ["argv", "flags"])
def test_urls_given_as_a_flag_are_refused_unrepeated(how):
    url = "tgram://123456789:AAE-S3CR3T/42"
    with pytest.raises(ConfigError) as e:
        if how == "argv":
            Config.load({}, ["--notify-urls", url])
        else:
            Config.load({}, flags={"notify_urls": url})
    assert str(e.value) == (
        "--notify-urls: holds secrets, so it is read from the environment only: set SEAMLESS_NOTIFY_URLS"
    )


def test_an_unusable_url_is_named_by_position_and_scheme_only():
    env = {"SEAMLESS_NOTIFY_URLS": "json://127.0.0.1:9/ok tgram://S3CR3T-ONLY"}
    with pytest.raises(ConfigError) as e:
        Config.load(env, [])
    assert str(e.value) == (
        "SEAMLESS_NOTIFY_URLS: apprise cannot use URL 2 (tgram://…) (unknown service, or a part missing)"
    )


def test_kinds_rate_and_threshold_are_checked():
    c = Config.load({"SEAMLESS_NOTIFY_EVENTS": "fills breach"}, ["--notify-rate", "3", "--notify-not-ready-s", "5"])
    assert (c.notify_events, c.notify_rate, c.notify_not_ready_s) == (["fills", "breach"], 3.0, 5.0)
    unknown = r"SEAMLESS_NOTIFY_EVENTS='fills,nope': unknown notification kind 'nope'; known: "
    with pytest.raises(ConfigError, match=unknown):
        Config.load({"SEAMLESS_NOTIFY_EVENTS": "fills,nope"}, [])
    with pytest.raises(ConfigError, match="--notify-rate='0': must be a number > 0"):
        Config.load({}, ["--notify-rate", "0"])
