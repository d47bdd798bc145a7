"""The ``celery`` command for the worker tests: ``python -m tests.workers.celery_main worker -Q outbox …`` is
``celery -A jiaoguan worker -Q outbox …`` with two test-only knobs read from the environment:

- ``JG_TEST_BEAT_CAP`` (seconds): beat runs every periodic job at least this often (the 30 s outbox sweep every
  second), so a test waits seconds, not minutes, for the sweep;
- ``JG_TEST_PAUSE_DIR``: while the file ``pause`` exists there, an outbox handler, once it has done its work
  (uncommitted), writes ``reached-<pid>`` there and sleeps: the moment a fault test kills the worker.
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path


def _patch_beat(cap: float) -> None:
    import jiaoguan.celery as celery_module

    full = celery_module.beat_schedule

    def capped() -> dict:
        return {name: {**entry, "schedule": min(float(entry["schedule"]), cap)} for name, entry in full().items()}

    celery_module.beat_schedule = capped


def _patch_pause(pause_dir: Path) -> None:
    from jiaoguan.core import outbox

    resolve = outbox._resolve

    def paused(path: str):
        handler = resolve(path)

        def run(payload: dict) -> None:
            handler(payload)
            if (pause_dir / "pause").exists():
                (pause_dir / f"reached-{os.getpid()}").write_text(path)
                time.sleep(600)

        return run

    outbox._resolve = paused


def main(argv: list[str]) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jiaoguan.settings")
    import django

    django.setup()
    if os.environ.get("JG_TEST_BEAT_CAP"):
        _patch_beat(float(os.environ["JG_TEST_BEAT_CAP"]))
    if os.environ.get("JG_TEST_PAUSE_DIR"):
        _patch_pause(Path(os.environ["JG_TEST_PAUSE_DIR"]))
    from jiaoguan.celery import app

    app.start(argv)


if __name__ == "__main__":
    main(sys.argv[1:])
