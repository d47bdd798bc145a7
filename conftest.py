"""Fixtures for the whole suite (tests/ and e2e/)."""
from __future__ import annotations

import importlib

import pytest
from celery._state import _set_task_join_will_block
from django.apps import apps as django_apps
from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.db import BaseDatabaseCache
from django.utils import translation
from hypothesis import settings as hypothesis_settings

from jiaoguan.core import clock as core_clock

# No time limit per example: hypothesis's default deadline (200 ms) is a timed assertion, and it fails a pure rule's
# test on a busy CI machine (speed is measured by benchmarks/, never asserted by tests).
hypothesis_settings.register_profile("jiaoguan", deadline=None)
hypothesis_settings.load_profile("jiaoguan")


@pytest.fixture(autouse=True, scope="session")
def _sms_outbox_file(tmp_path_factory):
    """The console SMS backend writes to a temporary file during tests, not to var/sms-outbox.log."""
    from django.conf import settings

    settings.JIAOGUAN_SMS_OUTBOX_FILE = str(tmp_path_factory.mktemp("sms") / "sms-outbox.log")
    yield


@pytest.fixture(autouse=True)
def _isolate_state():
    """Each test starts with the real clock, an empty cache (rate limits) and an empty SMS outbox."""
    core_clock.reset()
    if not isinstance(caches["default"], BaseDatabaseCache):  # Redis; the database cache (the default without
        cache.clear()  # REDIS_URL) is a table: each test's rollback, or its flush, empties it
    translation.activate(settings.LANGUAGE_CODE)  # a previous test's English request must not leak
    # Celery keeps "a task is running here" in one process-wide flag; eager tasks run by several threads at once
    # (the PostgreSQL concurrency tests) can leave it set, and then EagerResult.get() refuses to work.
    _set_task_join_will_block(False)
    # imported here, not at the top: this conftest loads before Django is set up, the helpers need its apps
    from tests.notifications.helpers import clear_outbox

    clear_outbox()
    yield
    core_clock.reset()
    translation.deactivate()


@pytest.fixture
def clock():
    """Move time in a test: clock.freeze(datetime/date), clock.advance(timedelta)."""
    yield core_clock
    core_clock.reset()


def pytest_collection_modifyitems(config, items):
    from django.conf import settings

    on_postgres = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    skip = pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL (CI runs the suite on both)")
    for item in items:
        if "postgres_only" in item.keywords and not on_postgres:
            item.add_marker(skip)


# Reference data seeded by migrations (besides the message templates) that a flush must not leave empty.
RESEEDED = [
    ("jiaoguan.violations.migrations.0002_load_codes", "load"),
    ("jiaoguan.bookings.migrations.0002_default_penalty_rules", "seed"),
    ("jiaoguan.counters.migrations.0002_default_services", "load"),
]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """A transactional test (and every live-server browser journey) ends with a flush that empties every table,
    including the reference rows that migrations seed. Once all of the test's fixtures are torn down (flush
    included), put them back, so the next test in this worker sees the database a fresh migrate gives."""
    yield
    marker = item.get_closest_marker("django_db")
    transactional = (marker is not None and marker.kwargs.get("transaction")) or bool(
        {"transactional_db", "live_server"} & set(getattr(item, "fixturenames", ())))
    if not transactional or nextitem is None:  # after the last test the test database is already gone
        return
    from pytest_django.plugin import blocking_manager_key

    from jiaoguan.notifications.services import message_templates_seed

    with item.config.stash[blocking_manager_key].unblock():
        message_templates_seed()
        for module, function in RESEEDED:  # each is idempotent: it adds only the rows that are missing
            getattr(importlib.import_module(module), function)(django_apps, None)
