"""gunicorn's WSGI application for benchmarks that time a write without its outbox deliveries: outbox rows are
written in the request's transaction as usual, but not handed to Celery after commit. Without a broker the
project runs Celery eagerly, in the request (``CELERY_TASK_ALWAYS_EAGER``), so every notice would be timed as part
of the write; in production the notices go to Celery workers. The benchmark measures them apart."""
from __future__ import annotations

import importlib

from jiaoguan.wsgi import application  # noqa: F401 - what gunicorn serves (sets Django up)

_tasks = importlib.import_module("jiaoguan.core.tasks")  # only once Django is set up


class _Deferred:
    @staticmethod
    def delay(*args, **kwargs):
        return None


_tasks.outbox_deliver = _Deferred()
