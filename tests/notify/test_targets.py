"""Apprise URLs: parsed, shown without their secrets, and the secrets masked in any text."""

from __future__ import annotations

import logging

from seamless.notify.targets import MASK, parse, parse_all, redact, scheme_of


def test_shown_is_the_scheme_and_the_masked_host_only():
    t = parse("json://alice:pw-S3CR3T@127.0.0.1:8080/hook/path-S3CR3T?x=1")
    assert t is not None
    assert t.shown == "json://alice:****@127.0.0.1:8080/…"
    assert {"pw-S3CR3T", "path-S3CR3T", "hook"} <= t.secrets
    assert "127.0.0.1" not in t.secrets and "alice" not in t.secrets


def test_a_token_in_the_host_is_masked_too():
    t = parse("tgram://123456789:AAE-bot-token-S3CR3T/98765")
    assert t is not None
    assert "S3CR3T" not in t.shown and t.shown.startswith("tgram://")
    assert redact("POST /bot123456789:AAE-bot-token-S3CR3T/sendMessage 98765", t.secrets).count(MASK) == 3


def test_percent_encoded_secrets_are_masked_either_way():
    t = parse("json://alice:p%40ss-S3CR3T@127.0.0.1/")
    assert t is not None
    assert redact("p%40ss-S3CR3T and p@ss-S3CR3T", t.secrets) == f"{MASK} and {MASK}"


def test_unusable_urls_are_named_by_position_and_scheme_only(caplog):
    with caplog.at_level(logging.DEBUG):
        targets, bad = parse_all(["json://127.0.0.1/", "nope://S3CR3T-A", "tgram://S3CR3T-B", "not a url S3CR3T-C"])
    assert len(targets) == 1
    assert bad == ["URL 2 (nope://…)", "URL 3 (tgram://…)", "URL 4 (no scheme://)"]
    assert "S3CR3T" not in caplog.text  # apprise logs an unusable URL whole: not here
    assert scheme_of("a b://c") == "no scheme://"


def test_redact_masks_the_longest_first():
    assert redact("abcdef and abcd", {"abcd", "abcdef"}) == f"{MASK} and {MASK}"
