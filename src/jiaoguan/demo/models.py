"""The demo city's own record: one row per ``demo_city`` run, so a failed or interrupted run is resumed by the
next ``demo_city --if-empty`` (``make run``) instead of being mistaken for a finished city."""
from __future__ import annotations

from django.db import models


class DemoCityRun(models.Model):
    """A run of ``manage.py demo_city``: when it started, the last step it finished, and when it completed
    (empty while it runs, and for ever if it failed or was interrupted: the next run resumes it)."""

    seed = models.IntegerField()
    persons = models.IntegerField(help_text="persons asked for")
    started_at = models.DateTimeField()
    step = models.CharField(max_length=20, blank=True, default="", help_text="the last step finished")
    completed_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True, default="", help_text="why the run stopped, when it failed")

    class Meta:
        verbose_name = "演示城市生成 demo city run"
        verbose_name_plural = "演示城市生成 demo city runs"

    def __str__(self) -> str:
        state = "complete" if self.completed_at else f"stopped after {self.step or 'nothing'}"
        return f"demo city run {self.pk} ({state})"
