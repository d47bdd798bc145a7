"""Periodic work of the postal app (declared with core.scheduler.periodic)."""
