"""Periodic work of the exams app (declared with core.scheduler.periodic)."""
