"""Real parallel connections on PostgreSQL: two accounts moving to the same free number at once."""
import pytest

from jiaoguan.core.errors import Conflict
from jiaoguan.identity import services
from jiaoguan.identity.models import User
from tests.factories import make_person, unique_phone
from tests.identity.helpers import PASSWORD, fresh_ip, later, register
from tests.identity.test_concurrency import run_together
from tests.notifications.helpers import last_code

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("round_", range(3))
def test_two_accounts_taking_the_same_number_one_wins(round_):
    a = register(make_person(name="甲", phone=None), phone=unique_phone())
    b = register(make_person(name="乙", phone=None), phone=unique_phone())
    number = unique_phone()
    codes = {}
    for user in (a, b):
        later()
        services.sms_code_request(phone=number, purpose="phone", ip=fresh_ip(), user=user)
        codes[user.pk] = last_code(number)

    results, errors = run_together(*[
        lambda u=u: services.account_phone_change(user=u, new_phone=number, code=codes[u.pk], password=PASSWORD,
                                                  ip=fresh_ip())
        for u in (a, b)])

    assert len(results) == 1 and len(errors) == 1, (results, errors)
    assert isinstance(errors[0], Conflict) and errors[0].fields.keys() == {"new_phone"}
    holders = [u for u in User.objects.filter(pk__in=[a.pk, b.pk]) if u.phone == number]
    assert [u.pk for u in holders] == [results[0].pk]
