"""What the dashboard shows: views that read the store's state (never write it), controls
that send commands through the service, alerts for critical events."""

from .alerts import ALERT_TOPICS, describe
from .base import BaseView, sync_table
from .dashboard import Dashboard

__all__ = ["ALERT_TOPICS", "BaseView", "Dashboard", "describe", "sync_table"]
