"""Outbox handlers of the applications app."""
