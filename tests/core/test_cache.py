"""core.cache.DatabaseCache, the embedded default's cache (no REDIS_URL): shared by every process through the
database, with ``add`` and ``incr`` atomic (Django's DatabaseCache makes both a read then a write), reads that
never delete, and a purge that removes expired rows only."""
import datetime as dt

import pytest
from django.core.cache import caches

from jiaoguan.core.cache import DatabaseCache
from jiaoguan.core.models import CacheEntry
from tests.concurrency import in_threads

pytestmark = pytest.mark.django_db


@pytest.fixture
def db_cache(settings):
    if not isinstance(caches["default"], DatabaseCache):
        settings.CACHES = {"default": {"BACKEND": "jiaoguan.core.cache.DatabaseCache", "LOCATION": "jiaoguan_cache"}}
    return caches["default"]


def _expire(backend, key):
    CacheEntry.objects.filter(pk=backend.make_key(key)).update(expires=dt.datetime(2001, 1, 1, tzinfo=dt.UTC))


def test_get_set_add_incr_delete(db_cache):
    assert db_cache.get("a") is None and db_cache.get("a", 7) == 7
    db_cache.set("a", {"n": [1.5, 2]}, 60)
    assert db_cache.get("a") == {"n": [1.5, 2]}
    assert db_cache.add("a", "other") is False and db_cache.get("a") == {"n": [1.5, 2]}
    assert db_cache.add("b", 10, 60) is True
    assert db_cache.incr("b") == 11 and db_cache.incr("b", 5) == 16 and db_cache.decr("b") == 15
    with pytest.raises(ValueError):
        db_cache.incr("missing")
    assert db_cache.get("missing") is None  # the failed incr left nothing behind
    db_cache.delete("a")
    assert db_cache.get_many(["a", "b"]) == {"b": 15}
    db_cache.clear()
    assert db_cache.get("b") is None


def test_incr_keeps_the_expiry(db_cache):
    db_cache.set("n", 1, 60)
    before = CacheEntry.objects.get(pk=db_cache.make_key("n")).expires
    db_cache.incr("n")
    assert CacheEntry.objects.get(pk=db_cache.make_key("n")).expires == before


def test_an_expired_entry_is_absent_and_add_takes_it_and_reading_does_not_delete(db_cache):
    db_cache.set("x", "old", 60)
    _expire(db_cache, "x")
    assert db_cache.get("x") is None
    assert CacheEntry.objects.filter(pk=db_cache.make_key("x")).exists()  # a read deletes nothing
    assert db_cache.add("x", "new", 60) is True and db_cache.get("x") == "new"


def test_locked_writes_at_the_end_and_drops_everything_on_error(db_cache):
    with db_cache.locked(["p", "q"]) as held:
        assert "p" not in held and held.get("p", 0) == 0
        held.set("p", 1, 60)
        assert held.get("p") == 1
    assert db_cache.get("p") == 1 and db_cache.get("q") is None
    with pytest.raises(RuntimeError), db_cache.locked(["p"]) as held:
        held.set("p", 2, 60)
        raise RuntimeError("boom")
    assert db_cache.get("p") == 1
    with pytest.raises(KeyError), db_cache.locked(["p"]) as held:
        held.set("not-held", 1)


def test_the_purge_removes_expired_rows_only_however_many_live_ones_there_are(db_cache):
    for i in range(6):
        db_cache.set(f"live{i}", i, 600)
        db_cache.set(f"dead{i}", i, 600)
        _expire(db_cache, f"dead{i}")
    db_cache._purge("default")
    assert sorted(db_cache.get_many([f"live{i}" for i in range(6)]).values()) == list(range(6))
    assert not CacheEntry.objects.filter(pk__in=[db_cache.make_key(f"dead{i}") for i in range(6)]).exists()
    # Django's cull, over MAX_ENTRIES, would delete live rows too; ours purges the expired ones only
    db_cache._max_entries = 2
    db_cache.set("one-more", 1, 600)
    assert len(db_cache.get_many([f"live{i}" for i in range(6)])) == 6


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_add_and_incr_are_atomic_between_connections(db_cache):
    """PostgreSQL, real parallel connections: one add wins (also over an expired row), no increment is lost."""
    db_cache.set("lock", "stale", 60)
    _expire(db_cache, "lock")
    assert in_threads(10, lambda i: db_cache.add("lock", i, 60)).count(True) == 1
    db_cache.set("counter", 0, 600)
    in_threads(10, lambda i: db_cache.incr("counter"))
    assert db_cache.get("counter") == 10
