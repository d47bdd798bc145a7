import logging
import time
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from jiaoguan.celery import app
from jiaoguan.core.scheduler import jobs, stop_on_signals

log = logging.getLogger("jiaoguan.scheduler")


class Command(BaseCommand):
    help = "Run the periodic jobs in a loop (the embedded stand-in for Celery beat). 定时任务循环。"

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--once", action="store_true", help="run every job once and exit")

    def handle(self, *args: Any, once: bool = False, **options: Any) -> None:
        app.loader.import_default_modules()  # import every app's tasks module so its jobs register
        stop = stop_on_signals()
        next_run = {job.name: 0.0 for job in jobs()}
        self.stdout.write(f"scheduler: {', '.join(next_run) or 'no jobs'}")
        while not stop.is_set():
            now = time.monotonic()
            for job in jobs():
                if now >= next_run.get(job.name, 0.0):
                    try:
                        job.task.apply()
                    except Exception:
                        log.exception("periodic job %s failed", job.name)
                    next_run[job.name] = now + job.seconds
            if once:
                break
            time.sleep(1)
