"""Outbox handlers of the exams app."""
