"""Who is acting, and whether they may move money.

Safe by default: a browser on this machine (loopback, not forwarded by a proxy) may do
everything; any other client must be an authenticated user (Panel's ``--basic-auth`` or
OAuth) to flatten, close, resume trading, reset a breach or start the runner. Halting,
pausing, stopping and reconciling only reduce risk and stay open to whoever sees the page.

On a viewer (``SEAMLESS_SOURCE``) every client is ``relayed``: its commands are applied on the
runner's host, where the viewer's clients are not on the machine (as through a proxy), so
moving money needs a logged-in user whatever machine the browser is on.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass

#: Commands that can put money at risk or move it.
MONEY_MOVING = frozenset({"flatten", "close", "resume_trading", "reset_breach", "start", "resume"})

_FORWARDED = ("x-forwarded-for", "forwarded", "x-real-ip")


class NotAllowed(PermissionError):
    """The session may not run this command."""


@dataclass(frozen=True)
class Access:
    user: str | None  # the authenticated user, or None
    remote_ip: str
    forwarded: bool  # came through a proxy: the remote address says nothing about the client
    relayed: bool = False  # a viewer's client: its commands go to the runner's host through the mirror

    @property
    def local(self) -> bool:
        if self.forwarded or self.relayed:
            return False
        try:
            ip = ipaddress.ip_address(self.remote_ip.split("%")[0])
        except ValueError:
            return False
        mapped = getattr(ip, "ipv4_mapped", None)  # ::ffff:127.0.0.1 is loopback too
        return (mapped or ip).is_loopback

    @property
    def who(self) -> str:
        """What the journal records as ``by``."""
        if self.user:
            return f"user:{self.user}"
        if self.local:
            return f"local@{self.remote_ip}"
        return f"remote@{self.remote_ip}" + (" via proxy" if self.forwarded else "")

    def may(self, command: str) -> bool:
        return command not in MONEY_MOVING or self.user is not None or self.local

    def refusal(self, command: str) -> str | None:
        """Why this client may not run ``command`` (None: it may)."""
        if self.may(command):
            return None
        if self.relayed:
            return (
                f"{command}: moves money; log in first (this viewer relays commands to the runner's host, "
                f"which applies a money-moving one only for a logged-in user)"
            )
        return (
            f"{command}: moves money; log in first (the dashboard is exposed beyond this "
            f"machine and {self.remote_ip}{' via a proxy' if self.forwarded else ''} is not "
            f"authenticated)"
        )

    def check(self, command: str) -> None:
        why = self.refusal(command)
        if why is not None:
            raise NotAllowed(why)

    @classmethod
    def of(cls, user: str | None, remote_ip: str | None, headers: Mapping[str, str]) -> Access:
        lower = {k.lower() for k in headers}
        return cls(user=user or None, remote_ip=remote_ip or "unknown", forwarded=any(h in lower for h in _FORWARDED))

    @classmethod
    def of_session(cls) -> Access:
        """The current Panel session's client (call inside the session)."""
        import panel as pn

        ctx = pn.state.curdoc.session_context if pn.state.curdoc is not None else None
        request = getattr(ctx, "request", None)
        tornado_request = getattr(request, "_request", None)  # Bokeh keeps the HTTP request here
        remote_ip = getattr(tornado_request, "remote_ip", None)
        headers = dict(getattr(request, "headers", {}) or {})
        user = pn.state.user if pn.config.oauth_provider or pn.config.basic_auth else None
        return cls.of(None if user == "guest" else user, remote_ip, headers)
