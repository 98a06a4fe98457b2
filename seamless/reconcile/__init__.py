"""Broker reconciliation (issue: reconciliation). Events it journals are in seamless.events."""
