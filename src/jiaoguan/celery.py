"""The Celery application. Without CELERY_BROKER_URL tasks run eagerly (settings.CELERY_TASK_ALWAYS_EAGER)."""
import os

from celery import Celery, signals

from jiaoguan.core.scheduler import beat_schedule

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jiaoguan.settings")

app = Celery("jiaoguan")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()  # lazy: the apps' tasks modules are imported when a worker or beat imports its modules


def _set_beat_schedule(sender: Celery) -> None:
    # Periodic jobs are declared once in core.scheduler and run by beat in production and by
    # `manage.py run_scheduler` in the embedded set-up.
    sender.conf.beat_schedule = beat_schedule()


@app.on_after_finalize.connect
def _beat_schedule(sender, **kwargs):  # noqa: ARG001 - Celery signal signature
    _set_beat_schedule(sender)


@signals.import_modules.connect(sender=app)
def _beat_schedule_after_discovery(sender, **kwargs):  # noqa: ARG001 - Celery signal signature
    # `celery beat` finalizes the app before it imports the tasks modules (autodiscovery above), so the schedule
    # made at finalize is empty; this runs after the discovery (connected after it) and before beat builds its
    # scheduler. Without it beat scheduled nothing (issue 12 §3, found by tests/workers).
    _set_beat_schedule(sender)
