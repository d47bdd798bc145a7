"""Rate limits hold across web processes (issue 10 item 8): under ``make run`` (two gunicorn workers, no
REDIS_URL) the limits used to be counted per worker in a local-memory cache, and two SMS codes reached one phone
within a second (the limit is 1 a minute). The embedded cache is now the database (core.cache), with a row-locked
read-modify-write per check (identity.ratelimit.locked).
"""
import pytest
from django.conf import settings as django_settings

from jiaoguan.core.errors import RateLimited
from jiaoguan.identity import ratelimit, services
from jiaoguan.identity.hashes import phone_hash
from jiaoguan.identity.models import SmsCode
from tests.concurrency import in_threads
from tests.factories import unique_phone
from tests.processes import call_together, django_processes


@pytest.mark.django_db(transaction=True)
def test_two_processes_asking_at_once_send_one_code():
    """Two real processes, each with its own connection and cache backend, ask for a code for the same phone
    at the same moment (from two addresses): exactly one code is sent, the other is refused with 429."""
    phone = unique_phone()
    with django_processes(2) as (a, b):
        answers = call_together([(a, "tests.identity.procs:sms_code", {"phone": phone, "ip": "10.78.0.1"}),
                                 (b, "tests.identity.procs:sms_code", {"phone": phone, "ip": "10.78.0.2"})])
        sent = a.call("tests.identity.procs:sms_sent", phone=phone)
        # and a second later, from a third address, still refused
        again = b.call("tests.identity.procs:sms_code", phone=phone, ip="10.78.0.3")
    assert sorted((x["status"], x["code"]) for x in answers) == [(200, None), (429, "identity.rate_limited")]
    assert sent == {"codes": 1, "sms": 1}
    assert again == {"status": 429, "code": "identity.rate_limited"}


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_rush_of_code_requests_sends_one_code():
    """PostgreSQL, real parallel connections: eight requests for one phone at once, one code."""
    phone = unique_phone()

    def ask(i):
        services.sms_code_request(phone=phone, purpose="register", ip=f"10.79.0.{i + 1}")
        return "sent"

    results = in_threads(8, ask)
    assert results.count("sent") == 1, results
    assert all(isinstance(r, RateLimited) for r in results if r != "sent"), results
    assert SmsCode.objects.filter(phone_hash=phone_hash(phone)).count() == 1


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_rush_against_overlapping_limits_admits_exactly_the_limit():
    """PostgreSQL: 12 threads take against a 5-per-hour limit they share and a per-thread one in another key
    order; exactly 5 are admitted and the shared window holds 5 events (no lost update, no deadlock)."""
    shared = ratelimit.Limit("test.shared", "k", "5/h")

    def take(i):
        mine = ratelimit.Limit("test.own", str(i), "5/h")
        limits = [shared, mine] if i % 2 else [mine, shared]
        return ratelimit.take(limits) is None

    results = in_threads(12, take)
    assert results.count(True) == 5, results
    assert ratelimit.usage(shared) == 5


@pytest.mark.django_db
def test_the_embedded_default_cache_is_shared_by_processes():
    """Without REDIS_URL the cache is the database table (not memory of one process)."""
    if django_settings.REDIS_URL:
        pytest.skip("the suite runs on Redis")
    assert django_settings.CACHES["default"]["BACKEND"] == "jiaoguan.core.cache.DatabaseCache"
