"""Periodic work of the counters app (declared with core.scheduler.periodic)."""
