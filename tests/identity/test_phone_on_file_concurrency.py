"""Real parallel connections on PostgreSQL: the change of the phone on file (identity.services.phone_on_file)
against itself — two requests of one holder at once, and the apply job racing the old number's objection and
the holder's withdrawal. One outcome each time, no deadlock (lock order: person, change, account)."""
import datetime as dt
import re

import pytest

from jiaoguan.core import clock
from jiaoguan.core.errors import Conflict
from jiaoguan.identity import services
from jiaoguan.identity.models import PhoneOnFileChange, User
from tests.factories import unique_phone
from tests.identity.helpers import PASSWORD, fresh_ip, holder, later, register
from tests.identity.test_concurrency import run_together
from tests.notifications.helpers import last_code, last_sms

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]
Status = PhoneOnFileChange.Status


def _code(user, phone):
    services.sms_code_request(phone=phone, purpose="phone_file", ip=fresh_ip(), user=user)
    return last_code(phone)


@pytest.mark.parametrize("round_", range(3))
def test_two_requests_of_one_holder_at_once_one_cools(round_):
    user = register(holder(name="蒋两次"))
    numbers = [unique_phone(), unique_phone()]
    codes = {}
    for n in numbers:
        later()
        codes[n] = _code(user, n)
    results, errors = run_together(*[
        lambda n=n: services.phone_on_file_change_request(user=user, new_phone=n, code=codes[n], password=PASSWORD,
                                                          ip=fresh_ip())
        for n in numbers])
    assert len(results) == 1 and len(errors) == 1, (results, errors)
    assert isinstance(errors[0], Conflict) and errors[0].code == "identity.phone_file_pending"
    assert PhoneOnFileChange.objects.filter(person=user.person, status=Status.COOLING).count() == 1


@pytest.mark.parametrize("round_", range(4))
def test_the_apply_job_racing_the_objection_and_the_withdrawal_ends_one_way(round_):
    person = holder(name="沈赛跑")
    user = register(person)
    old, new = person.phone, unique_phone()
    services.phone_on_file_change_request(user=user, new_phone=new, code=_code(user, new), password=PASSWORD,
                                          ip=fresh_ip())
    objection = re.search(r"([2-9A-Z]{5}-[2-9A-Z]{5})", last_sms(old)).group(1)
    due = clock.now() + dt.timedelta(hours=73)
    results, errors = run_together(
        lambda: services.phone_on_file_changes_apply(now=due),
        lambda: services.phone_on_file_change_object(code=objection, ip=fresh_ip()),
        lambda: services.phone_on_file_change_cancel(user=user, ip=fresh_ip()),
    )
    assert len(results) + len(errors) == 3, (results, errors)  # nobody hung or died of a deadlock
    change = PhoneOnFileChange.objects.get(person=person)
    person.refresh_from_db()
    account = User.objects.get(pk=user.pk)
    assert change.status in (Status.APPLIED, Status.OBJECTED, Status.CANCELLED)
    if change.status == Status.APPLIED:
        assert person.phone == new and account.phone == new and len(errors) == 2
    else:
        assert person.phone == old and account.phone == old and len(errors) == 1
