"""Outbox handlers of the credentials app."""
