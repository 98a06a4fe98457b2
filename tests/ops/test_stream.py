"""``GET /events``: the journal as Server-Sent Events, read by a plain socket client from a real
store served on a free loopback port."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from seamless import ops
from seamless.bench.sse import Message, SseClient
from seamless.config import Config, env_name
from seamless.events import QuoteReceived, SignalEmitted
from seamless.ops.stream import STREAMS, Feed
from seamless.store import Store

from .conftest import http_get, poll


def families_of(text: str) -> list:
    return list(text_string_to_metric_families(text))


def sample(fams: list, name: str, **labels: str) -> float:
    found = [s.value for f in fams for s in f.samples if s.name == name and s.labels == labels]
    assert len(found) == 1, (name, labels, found)
    return found[0]


@contextmanager
def served(tmp_path, **settings: Any) -> Iterator[tuple[Store, ops.HttpServer]]:
    config = Config.load(environ={env_name(k): str(v) for k, v in {"db": tmp_path / "s.db", **settings}.items()})
    store = Store(config.db)
    source = ops.Source(ops.Target(config, store))
    http = ops.serve_http(lambda: source)
    try:
        yield store, http
    finally:
        http.close()
        store.close()


class Ticks:
    """Quotes and signals for a store: increasing exchange times, a reason of ``pad`` characters."""

    def __init__(self, store: Store, pad: int = 0) -> None:
        self.store, self.pad, self.t = store, pad, 1_000.0

    def commit(self, n: int) -> None:
        for i in range(n):
            self.t += 1
            self.store.commit(QuoteReceived(symbol="AAPL", last=100 + i % 7, exchange_ts=self.t))
            self.store.commit(
                SignalEmitted(strategy="s", symbol="AAPL", direction=i % 2, reason="x" * self.pad, exchange_ts=self.t)
            )


def read(client: SseClient, n: int) -> list[Message]:
    out: list[Message] = []
    for m in client.messages():
        out.append(m)
        if len(out) == n:
            break
    return out


def signals(store: Store) -> list[int]:
    return [e.seq or 0 for e in store.events_since(0) if e.topic == "signal.emitted"]


def test_a_stream_resumes_with_last_event_id_nothing_missed_nothing_twice(tmp_path):
    with served(tmp_path) as (store, http):
        ticks = Ticks(store)
        ticks.commit(30)
        first = SseClient(http.address, http.port, "/events?topics=signal.*&after=0").start()
        assert first.status == 200 and first.headers["content-type"].startswith("text/event-stream")
        got = read(first, 20)
        first.close()  # the connection drops mid-stream
        ticks.commit(30)  # while nobody listens

        writer = threading.Thread(target=ticks.commit, args=(200,))  # and while it reconnects
        writer.start()
        again = SseClient(http.address, http.port, "/events?topics=signal.*", {"Last-Event-ID": got[-1].id or ""})
        again.start()
        writer.join()
        expected = signals(store)
        got += read(again, len(expected) - len(got))
        again.close()
        journal = {e.seq: e for e in store.events_since(0)}

    assert [int(m.id or 0) for m in got] == expected  # every signal once, in seq order
    assert {m.event for m in got} == {"signal.emitted"}
    for m in got:  # each one is its journal row
        doc, ev = m.json(), journal[int(m.id or 0)]
        assert (doc["seq"], doc["topic"], doc["type"], doc["version"]) == (ev.seq, ev.topic, ev.type, ev.version)
        assert (doc["ts"], doc["exchange_ts"], doc["payload"]) == (ev.ts, ev.exchange_ts, ev.payload())


def test_a_slow_client_is_dropped_and_the_writer_and_the_others_carry_on(tmp_path, caplog):
    n = 1_500
    with served(tmp_path, sse_buffer=200, sse_heartbeat_s=0.2) as (store, http):
        dropped_before = STREAMS.dropped["too_slow"]
        slow = SseClient(http.address, http.port, "/events?after=0", rcvbuf=4096).start()  # never reads again
        fast = SseClient(http.address, http.port, "/events?topics=signal.*&after=0").start()
        poll("both clients following", lambda: STREAMS.clients(store) == 2)
        received: list[Message] = []

        def follow() -> None:
            for m in fast.messages():
                received.append(m)
                if len(received) == n:
                    return

        reader = threading.Thread(target=follow)
        reader.start()
        ticks, took = Ticks(store, pad=4_000), 0.0
        with caplog.at_level(logging.WARNING, logger="seamless.ops.stream"):
            for i in range(n // 50):  # ~6 MB of frames in all: more than the sockets hold
                started = time.perf_counter()
                ticks.commit(50)
                took += time.perf_counter() - started
                poll("the fast client keeping up", lambda i=i: len(received) >= 50 * (i + 1) or not reader.is_alive())
            poll("the slow client dropped", lambda: STREAMS.dropped["too_slow"] > dropped_before)
        reader.join(30)
        expected = signals(store)
        slow_tail = [m.event for m in slow.messages()]  # the server closed it: this ends
        slow.close()
        fast.close()
        poll("no client left", lambda: STREAMS.clients(store) == 0)  # each left its broadcast

    print(f"\n{2 * n} commits with a stalled /events client: {took * 1e3:.0f} ms")
    assert len(expected) == n and [int(m.id or 0) for m in received] == expected
    assert len(slow_tail) < 2 * n and set(slow_tail) <= {"market.quote", "signal.emitted", "dropped"}  # cut off
    dropped = [r.getMessage() for r in caplog.records if "dropped" in r.getMessage()]
    assert len(dropped) == 1 and "too slow" in dropped[0] and "SEAMLESS_SSE_BUFFER=200" in dropped[0], dropped


def test_heartbeats_on_an_idle_stream(tmp_path):
    with served(tmp_path, sse_heartbeat_s=0.05) as (_, http):
        client = SseClient(http.address, http.port, "/events").start()
        reader = threading.Thread(target=lambda: list(client.messages()), daemon=True)
        reader.start()
        poll("three heartbeats", lambda: client.comments.count("heartbeat") >= 3)
        client.close()


@pytest.mark.parametrize(
    "path, headers, status, says",
    [
        ("/events?after=x", {}, 400, "after: 'x' is not a sequence number"),
        ("/events", {"Last-Event-ID": "-3"}, 400, "Last-Event-ID: '-3' is not a sequence number"),
        ("/events?topics=order.*,a%20b", {}, 400, "topics: 'a b' is not a topic pattern"),
        ("/events", {"X-Forwarded-For": "203.0.113.9"}, 403, "/events: log in first, or send Authorization: Bearer"),
        (
            "/events",
            {"X-Forwarded-For": "203.0.113.9", "Authorization": "Bearer 0123456789abcdef0123"},
            401,
            "/events: this server accepts no bearer token (SEAMLESS_STREAM_TOKEN is not set)",
        ),
    ],
)
def test_bad_requests_and_remote_clients_are_refused_with_one_line(tmp_path, path, headers, status, says):
    with served(tmp_path) as (_, http):
        client = SseClient(http.address, http.port, path, headers).start()
        body = client.body()
        client.close()
    assert client.status == status and body.startswith(says) and body.count("\n") == 1, body


TOKEN = "s3cret-stream-token-0123456789abcdef"


def test_a_script_on_another_host_is_admitted_with_the_stream_token_only(tmp_path, caplog):
    """A remote-looking client (through a proxy): refused without a token, refused with a wrong
    one, admitted with ``SEAMLESS_STREAM_TOKEN``; the token in no log line and no metric."""
    remote = {"X-Forwarded-For": "203.0.113.9"}
    caplog.set_level(logging.DEBUG)  # every logger, tornado's access log included
    refused_before = dict(STREAMS.refused)
    with served(tmp_path, stream_token=TOKEN) as (store, http):
        Ticks(store).commit(10)

        def ask(headers: dict[str, str]) -> tuple[int, str, SseClient]:
            client = SseClient(http.address, http.port, "/events?topics=signal.*&after=0", headers).start()
            return client.status, "" if client.status == 200 else client.body(), client

        status, body, _ = ask(remote)
        assert (status, body.splitlines()[0].split(" (")[0]) == (
            403,
            "/events: log in first, or send Authorization: Bearer <SEAMLESS_STREAM_TOKEN>",
        )
        for wrong in (TOKEN[:-1], TOKEN + "x", "x" * len(TOKEN), f"Basic {TOKEN}"):
            header = wrong if wrong.startswith("Basic") else f"Bearer {wrong}"
            status, body, client = ask({**remote, "Authorization": header})
            expected = (
                (403, "/events: log in first") if wrong.startswith("Basic") else (401, "/events: the bearer token")
            )
            assert (status, body[: len(expected[1])]) == expected, (wrong, status, body)
            if status == 401:
                assert client.headers["www-authenticate"] == 'Bearer error="invalid_token"'
        status, _, admitted = ask({**remote, "Authorization": f"bearer {TOKEN}"})  # the scheme in any case
        assert status == 200
        got = read(admitted, 10)
        admitted.close()
        assert [int(m.id or 0) for m in got] == signals(store)
        metrics = http_get(f"{http.url}/metrics").text

    refused = {k: n for k in STREAMS.refused if (n := STREAMS.refused[k] - refused_before.get(k, 0))}
    assert refused == {"unauthenticated": 2, "bad_token": 3}, refused
    assert 'seamless_sse_refused_total{reason="bad_token"}' in metrics
    logged = caplog.text + "".join(r.getMessage() for r in caplog.records)
    assert "GET /events" in logged  # the access log saw every request...
    for text in (logged, metrics):
        assert TOKEN not in text and TOKEN[:12] not in text  # ...and never the token


def test_the_stream_token_is_a_secret_setting_from_the_environment_only():
    from seamless.config import ConfigError

    with pytest.raises(ConfigError) as short:
        Config.load(environ={"SEAMLESS_STREAM_TOKEN": "tooshort"})
    assert str(short.value) == (
        "SEAMLESS_STREAM_TOKEN: must be at least 16 printable ASCII characters, no spaces (openssl rand -hex 32)"
    )
    with pytest.raises(ConfigError, match="^--stream-token: holds secrets, so it is read from the environment only"):
        Config.load(environ={}, argv=["--stream-token", TOKEN])
    assert TOKEN not in repr(Feed(None, token=TOKEN))
    config = Config.load(environ={"SEAMLESS_STREAM_TOKEN": TOKEN})
    assert config.stream_token == TOKEN and "stream_token=***" in repr(config) and TOKEN not in repr(config)


def test_sse_figures_in_metrics_clients_events_sent_and_drops(tmp_path):
    with served(tmp_path, sse_buffer=50) as (store, http):
        before = families_of(http_get(f"{http.url}/metrics").text)
        client = SseClient(http.address, http.port, "/events?after=0").start()
        Ticks(store).commit(20)
        got = read(client, 40)
        poll("the client counted", lambda: STREAMS.clients(store) == 1)
        during = families_of(http_get(f"{http.url}/metrics").text)
        client.close()

        # The process's clients: others' may linger (a server closed before its loop saw them go).
        others = sample(before, "seamless_sse_clients")

        def scraped_without_it() -> list | None:
            fams = families_of(http_get(f"{http.url}/metrics").text)
            return fams if sample(fams, "seamless_sse_clients") == others else None

        after = poll("the client gone from /metrics", scraped_without_it)
    assert len(got) == 40
    assert sample(during, "seamless_sse_clients") == others + 1
    sent = sample(during, "seamless_sse_events_sent_total") - sample(before, "seamless_sse_events_sent_total")
    assert sent >= 40  # at least what this client read (other tests' clients may add)
    assert sample(after, "seamless_sse_dropped_total", reason="too_slow") == STREAMS.dropped["too_slow"]
