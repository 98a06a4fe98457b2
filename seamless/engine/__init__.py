"""The engine: risk, orders, strategies, monitors and the live runner. Every change it makes
goes through the store."""
