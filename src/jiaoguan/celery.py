"""The Celery application. Without CELERY_BROKER_URL tasks run eagerly (settings.CELERY_TASK_ALWAYS_EAGER)."""
import os

from celery import Celery

from jiaoguan.core.scheduler import beat_schedule

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jiaoguan.settings")

app = Celery("jiaoguan")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_finalize.connect
def _beat_schedule(sender, **kwargs):  # noqa: ARG001 - Celery signal signature
    # Periodic jobs are declared once in core.scheduler and run by beat in production and by
    # `manage.py run_scheduler` in the embedded set-up.
    sender.conf.beat_schedule = beat_schedule()
