"""Named queues and beat's schedule, checked without a broker (the suite's runs)."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from django.conf import settings

from jiaoguan.celery import app
from jiaoguan.core.scheduler import jobs
from tests.processes import ROOT


def test_every_task_goes_to_a_named_queue_that_a_worker_consumes():
    app.loader.import_default_modules()
    queues = {name: app.amqp.router.route({}, name)["queue"].name for name in app.tasks
              if not name.startswith("celery.")}
    assert set(queues.values()) <= set(settings.JIAOGUAN_CELERY_QUEUES)
    assert queues["core.outbox_deliver"] == "outbox"
    assert queues["notifications.message_deliver"] == "sms"
    assert all(queues[job.name] in ("periodic", "audit") for job in jobs())  # beat's jobs: never behind the outbox
    assert queues["payments.sim_notify"] == "default"


def test_beat_schedules_every_periodic_job():
    """`celery beat` finalizes the app before it imports the tasks modules: the schedule is made again after
    the import (jiaoguan.celery), or beat would run nothing at all (as it did before issue 12)."""
    code = ("from jiaoguan.celery import app; import json; app.finalize(); app.loader.import_default_modules(); "
            "print(json.dumps(sorted(app.conf.beat_schedule)))")
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}", "DJANGO_SETTINGS_MODULE": "jiaoguan.settings"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    scheduled = json.loads(out.stdout.strip().splitlines()[-1])
    app.loader.import_default_modules()
    assert set(scheduled) >= {job.name for job in jobs()} and "core.outbox_redispatch" in scheduled
