"""Periodic work of the applications app (declared with core.scheduler.periodic)."""
