"""Alpaca's REST API over one HTTP session, with the retries a trading client needs.

alpaca-py's ``RESTClient`` sends without a timeout, waits a fixed time on 429 (not the
answer's Retry-After) and reports a lost answer and a refused connection alike; an order's
fate depends on telling those apart, so requests go through here and only the answers are
parsed with alpaca-py's models.

- A refused or unreachable connection: the request never arrived (:class:`BrokerDisconnected`,
  at once: the runner journals the outage and retries on its own schedule).
- A lost answer (a timeout, a connection closed mid-answer): it may have arrived
  (:class:`BrokerTimeout`); reads are retried, an order is left to the caller to look up.
- 429: waits Retry-After (bounded) and retries, orders too (a 429 was not processed).
- 5xx: reads are retried with backoff; for an order, :class:`ServerError` (outcome unknown).
- 401: :class:`BrokerAuthError`, at once: retrying cannot fix keys.
- Other 4xx: :class:`ApiError` with Alpaca's code and message.

The keys travel in headers only; no message here ever repeats a header.
"""

from __future__ import annotations

import email.utils
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import requests
import urllib3.exceptions

from ..base import BrokerAuthError, BrokerDisconnected, BrokerError, BrokerTimeout

log = logging.getLogger("seamless.brokers.alpaca")

#: Connect and read timeouts, seconds.
TIMEOUT = (3.05, 10.0)


class ApiError(BrokerError):
    """Alpaca answered 4xx: ``status``, Alpaca's ``code`` and ``message``."""

    def __init__(self, status: int, code: int | None, message: str, path: str) -> None:
        super().__init__(f"Alpaca refused {path}: {message} (HTTP {status})")
        self.status, self.code, self.message = status, code, message


class NotFound(ApiError):
    """404: no such order (or other object)."""


class ServerError(BrokerError):
    """Alpaca answered 5xx to a request that is not retried blindly (an order)."""


class AlpacaRest:
    """Requests to one Alpaca API host, authenticated by the key id and secret."""

    def __init__(
        self,
        base_url: str,
        key_id: str,
        secret_key: str,
        *,
        retries: int = 5,
        backoff_s: float = 0.25,
        max_wait_s: float = 30.0,
        timeout: tuple[float, float] = TIMEOUT,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.retries, self.backoff_s, self.max_wait_s, self.timeout = retries, backoff_s, max_wait_s, timeout
        self._sleep = sleep
        self._session = requests.Session()
        self._session.headers.update(
            {"APCA-API-KEY-ID": key_id, "APCA-API-SECRET-KEY": secret_key, "Accept": "application/json"}
        )
        self._lock = threading.Lock()  # a requests.Session is not documented thread-safe
        self.closed = False
        self.retried = 0  # retries made (429, 5xx, lost reads), for tests and figures

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self.call("GET", path, params=params)

    def call(self, method: str, path: str, *, params: dict[str, Any] | None = None, body: Any = None) -> Any:
        """One request, retried as its kind allows (see the module); the answer's JSON, or None."""
        idempotent = method in ("GET", "DELETE")
        attempt = 0
        while True:
            if self.closed:
                raise BrokerDisconnected(f"Alpaca client closed: {method} {path} not sent")
            attempt += 1
            try:
                with self._lock:
                    r = self._session.request(
                        method,
                        self.base_url + path,
                        params=params,
                        json=body,
                        timeout=self.timeout,
                        allow_redirects=False,
                    )
            except requests.RequestException as e:
                if _unreached(e):  # down: said at once, the caller's own schedule retries
                    raise BrokerDisconnected(f"Alpaca unreachable at {self.base_url}: {_why(e)}") from None
                if attempt > self.retries or not idempotent:
                    raise BrokerTimeout(f"no answer from Alpaca to {method} {path}: {_why(e)}") from None
                self._wait(self.backoff_s * 2 ** (attempt - 1), f"{method} {path}: {_why(e)}")
                continue
            if r.status_code == 429 and attempt <= self.retries:
                self._wait(_retry_after(r, self.backoff_s * 2 ** (attempt - 1), self.max_wait_s), f"{path}: 429")
                continue
            if r.status_code >= 500 and idempotent and attempt <= self.retries:
                self._wait(self.backoff_s * 2 ** (attempt - 1), f"{path}: HTTP {r.status_code}")
                continue
            return self._answer(r, method, path)

    def _wait(self, seconds: float, why: str) -> None:
        self.retried += 1
        log.info("Alpaca: retrying in %.2f s (%s)", seconds, why)
        self._sleep(seconds)

    def _answer(self, r: requests.Response, method: str, path: str) -> Any:
        if r.status_code < 300:
            return r.json() if r.content else None
        code, message = _error_body(r)
        if r.status_code == 401:
            raise BrokerAuthError(
                f"Alpaca refused the API keys ({message}, HTTP 401): check APCA_API_KEY_ID and APCA_API_SECRET_KEY, "
                "and that paper keys go with SEAMLESS_ALPACA_PAPER=1 and live keys with 0"
            )
        if r.status_code == 429:
            raise BrokerError(f"Alpaca rate limit: {method} {path} still refused after {self.retries} retries")
        if r.status_code >= 500:
            raise ServerError(f"Alpaca answered HTTP {r.status_code} to {method} {path}: {message}")
        cls = NotFound if r.status_code == 404 else ApiError
        raise cls(r.status_code, code, message, f"{method} {path}")

    def close(self) -> None:
        self.closed = True
        self._session.close()


def _unreached(e: requests.RequestException) -> bool:
    """Whether the request certainly never reached the server (nothing could have happened)."""
    if isinstance(e, requests.ConnectTimeout):
        return True
    if isinstance(e, requests.ConnectionError):
        reason = e.args[0] if e.args else None
        inner = getattr(reason, "reason", reason)
        return isinstance(inner, urllib3.exceptions.NewConnectionError)
    return False


def _why(e: BaseException) -> str:
    inner = e.args[0] if e.args else e
    inner = getattr(inner, "reason", inner)
    text = str(inner)
    # urllib3 puts the connection object's repr first: keep what a person reads.
    return text.split(": ", 1)[-1] if text.startswith("<") else text


def _retry_after(r: requests.Response, default: float, cap: float) -> float:
    value = r.headers.get("Retry-After", "")
    try:
        seconds = float(value)
    except ValueError:
        when = email.utils.parsedate_to_datetime(value) if value else None
        seconds = when.timestamp() - time.time() if when is not None else default
    return min(max(seconds, 0.0), cap)


def _error_body(r: requests.Response) -> tuple[int | None, str]:
    try:
        body = r.json()
        return body.get("code"), str(body.get("message") or r.reason)
    except ValueError:
        return None, (r.text.strip()[:200] or str(r.reason))
