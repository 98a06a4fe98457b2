"""Where notifications go: apprise URLs, which hold secrets, and how they are shown.

An apprise URL carries its service's token (``tgram://BOT_TOKEN/CHAT``,
``json://user:PASSWORD@host/path``). It comes from the environment only
(``SEAMLESS_NOTIFY_URLS``) and is never written to the store, the journal, a log line or a
page: what is shown is :attr:`Target.shown` (apprise's privacy form, cut after the host), and
every text that could hold a piece of the URL goes through :func:`redact` first.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import unquote

import apprise

_TOKEN = re.compile(r"[A-Za-z0-9_.~%+\-]+")
#: Shorter pieces of a URL are no secret (and would mask ordinary words).
MIN_SECRET = 4
MASK = "****"


@dataclass(frozen=True)
class Target:
    """One apprise URL, ready to send to, with what may be shown of it."""

    #: the scheme and the host as apprise's privacy form gives them (``json://user:****@host/…``).
    shown: str
    #: every piece of the URL not in ``shown``: masked wherever text might carry it.
    secrets: frozenset[str]
    #: the apprise instance that sends to this one URL.
    apprise: apprise.Apprise


class _Masking(logging.Filter):
    """On the loggers of apprise and of the HTTP client under it (urllib3 logs each request's
    path, where some services keep their token): every record is masked. Apprise's own
    records are held back while a URL is parsed on that thread (apprise logs an unusable URL
    whole), and its warnings and errors while a notification is sent go to the sender instead
    (one log line per failure is the notifier's, not one per attempt)."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()  # every target's, for the process's life
        self.parsing: set[int] = set()  # threads parsing a URL
        self.sending: list[list[str]] = []  # where apprise's warnings go meanwhile

    def filter(self, record: logging.LogRecord) -> bool:
        ours = record.name == "apprise" or record.name.startswith("apprise.")
        if ours and record.thread in self.parsing:
            return False
        try:
            text = redact(record.getMessage(), self.secrets)
        except Exception:  # a record whose arguments do not fit its format: its bare format
            text = redact(str(record.msg), self.secrets)
        if ours and record.levelno >= logging.WARNING and self.sending:
            for said in self.sending:
                said.append(text)
            return False
        record.msg, record.args = text, None
        return True


_MASKING = _Masking()


def _mask_loggers() -> None:
    """Put the masking filter on apprise's and urllib3's loggers (each logger's own filters
    see only its own records: every one of them, as they exist once apprise is imported)."""
    names = [n for n in logging.root.manager.loggerDict if n.split(".")[0] in ("apprise", "urllib3")]
    for name in {"apprise", "urllib3", *names}:
        logger = logging.getLogger(name)
        if _MASKING not in logger.filters:
            logger.addFilter(_MASKING)


_mask_loggers()


@contextmanager
def _parsing() -> Iterator[None]:
    ident = threading.get_ident()
    _MASKING.parsing.add(ident)
    try:
        yield
    finally:
        _MASKING.parsing.discard(ident)


@contextmanager
def apprise_log() -> Iterator[list[str]]:
    """What apprise warns of meanwhile (on any thread: it sends from a pool), masked, in the
    list given instead of the log: the reason an attempt failed."""
    said: list[str] = []
    _MASKING.sending.append(said)
    try:
        yield said
    finally:
        _MASKING.sending.remove(said)


def scheme_of(url: str) -> str:
    """``tgram://…`` for ``tgram://TOKEN/CHAT``: all that an unusable URL may show of itself."""
    scheme, sep, _ = url.partition("://")
    return f"{scheme}://…" if sep and scheme.isalnum() else "no scheme://"


def parse(url: str) -> Target | None:
    """The target of ``url``, or None if apprise cannot use it (unknown service, missing token)."""
    with _parsing():  # apprise logs an unusable URL whole, secret and all
        service = apprise.Apprise.instantiate(url.strip())
    if service is None:
        return None
    private = str(service.url(privacy=True))
    scheme, _, rest = private.partition("://")
    host = re.split(r"[/?#]", rest, maxsplit=1)[0]
    shown = f"{scheme}://{host}" + ("/…" if len(host) < len(rest.rstrip("/")) else "")
    visible = set(_TOKEN.findall(shown))
    secrets = {
        piece
        for token in _TOKEN.findall(url)
        for piece in (token, unquote(token))
        if len(piece) >= MIN_SECRET and piece not in visible
    }
    _MASKING.secrets |= secrets
    _mask_loggers()  # any logger created since
    one = apprise.Apprise()
    with _parsing():
        one.add(service)
    return Target(shown, frozenset(secrets), one)


def parse_all(urls: Iterable[str]) -> tuple[list[Target], list[str]]:
    """(the usable targets, what can be shown of each URL apprise cannot use)."""
    targets: list[Target] = []
    bad: list[str] = []
    for i, url in enumerate(urls, 1):
        target = parse(url)
        if target is None:
            bad.append(f"URL {i} ({scheme_of(url)})")
        else:
            targets.append(target)
    return targets, bad


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret masked (longest first, so that no part of one survives)."""
    for secret in sorted(secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MASK)
    return text
