"""Pushing state to browser sessions: the server-wide hub and each session's feed."""

from .derived import Derived
from .docs import KernelDoc, ServerDoc, SessionDoc
from .hub import Hub
from .session import SessionFeed, View

__all__ = ["Derived", "Hub", "KernelDoc", "ServerDoc", "SessionDoc", "SessionFeed", "View"]
