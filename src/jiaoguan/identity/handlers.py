"""Outbox handlers of the identity app."""
