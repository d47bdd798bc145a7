"""core.rows: hand-written hot reads give the same objects the ORM gives (converters, decryption, _state), and
the bearer-token lookup built on it is one statement that still honours every way a token ends at once."""
from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from jiaoguan.core import clock, rows
from jiaoguan.identity import services
from jiaoguan.identity.models import ApiToken, User
from jiaoguan.registry.models import Person
from tests.identity.helpers import holder, register

pytestmark = pytest.mark.django_db


def _fetch(model, pk):
    with connection.cursor() as cur:
        cur.execute(f"SELECT {rows.columns(model, 'x')} FROM {connection.ops.quote_name(model._meta.db_table)} x "
                    "WHERE x.id = %s", [pk])
        return cur.fetchone()


def _fields(obj):
    return {f.attname: getattr(obj, f.attname) for f in type(obj)._meta.concrete_fields}


@pytest.mark.parametrize("model", [Person, User])
def test_an_instance_from_a_hand_written_row_equals_the_orm_one(model):
    user = register(holder(name="欧阳娜娜"))
    pk = user.person_id if model is Person else user.pk
    by_orm = model.objects.get(pk=pk)
    by_hand = rows.instance(model, _fetch(model, pk))
    assert _fields(by_hand) == _fields(by_orm)
    assert by_hand == by_orm and not by_hand._state.adding and by_hand._state.db == "default"
    if model is Person:  # decrypted, not ciphertext
        assert by_hand.name == "欧阳娜娜" and by_hand.id_number == by_orm.id_number
        assert not str(by_hand.id_number).startswith("enc")


def test_an_instance_read_by_hand_saves_like_a_queried_one():
    user = register(holder(name="李雷"))
    person = rows.instance(Person, _fetch(Person, user.person_id))
    person.address = "深圳市南山区科技园"
    person.save(update_fields=["address"])
    assert Person.objects.get(pk=person.pk).address == "深圳市南山区科技园"


def test_a_datetime_parameter_compares_as_the_orm_would():
    user = register(holder(name="韩梅梅"))
    services.token_issue(user=user)
    row = ApiToken.objects.get(user=user)
    for delta, found in ((dt.timedelta(seconds=-1), 1), (dt.timedelta(seconds=1), 0)):
        with connection.cursor() as cur:
            cur.execute("SELECT COUNT(*) FROM identity_apitoken WHERE id = %s AND expires_at > %s",
                        [row.pk, rows.param(ApiToken, "expires_at", row.expires_at + delta)])
            assert cur.fetchone()[0] == found


# --- the bearer token lookup ---------------------------------------------------------------------------------------

def test_a_token_is_one_statement_with_its_user_and_person_joined():
    user = register(holder(name="张三"))
    token = services.token_issue(user=user)
    services.user_for_token(token)  # first use notes last_used_at (an UPDATE, at most every 5 minutes)
    with CaptureQueriesContext(connection) as cap:
        found = services.user_for_token(token)
        assert found == user
        assert found.person.name == "张三" and found.person == user.person  # no further query: joined
        assert found.phone == user.phone  # decrypted
    assert len(cap.captured_queries) == 1


def test_a_token_of_an_account_without_person_works():
    staff = services.staff_bootstrap(username="admin01", display_name="管理员", password="Qiao-Lu#8841x")
    token = services.token_issue(user=staff)
    found = services.user_for_token(token)
    assert found == staff and found.person is None and found.role == staff.role


@pytest.mark.parametrize("end", ["revoked", "expired", "disabled", "password"])
def test_every_way_a_token_ends_takes_effect_at_once(end):
    user = register(holder(name="王五"))
    token = services.token_issue(user=user)
    assert services.user_for_token(token) == user
    if end == "revoked":
        services.token_revoke(user=user, token=token)
    elif end == "expired":
        ApiToken.objects.filter(user=user).update(expires_at=clock.now() - dt.timedelta(seconds=1))
    elif end == "disabled":
        User.objects.filter(pk=user.pk).update(is_active=False)
    else:
        user.set_password("Another#Pass-2026")
        user.save(update_fields=["password"])
    assert services.user_for_token(token) is None


@pytest.mark.parametrize("token", ["", "jgt_", "jgt_unknown", "abc", "jgt_" + "x" * 300, None, 12])
def test_a_token_that_is_not_one_finds_nobody(token):
    assert services.user_for_token(token) is None


def test_fetchone_answers_like_the_ordinary_cursor():
    user = register(holder(name="张三"))
    sql = f"SELECT id, username FROM {connection.ops.quote_name(User._meta.db_table)} WHERE id = %s"
    with connection.cursor() as cur:
        cur.execute(sql, [user.pk])
        expected = cur.fetchone()
    with CaptureQueriesContext(connection) as q:
        assert rows.fetchone(sql, [user.pk]) == expected == (user.pk, user.username)
        assert rows.fetchone(sql, [-1]) is None
    assert len(q.captured_queries) == 2  # logged like any other statement


def test_fetchall_answers_every_row_like_the_ordinary_cursor():
    users = [register(holder(name=n)) for n in ("赵一", "钱二")]
    sql = (f"SELECT id, username FROM {connection.ops.quote_name(User._meta.db_table)} WHERE id IN (%s, %s) "
           f"ORDER BY id")
    assert rows.fetchall(sql, [users[0].pk, users[1].pk]) == [(u.pk, u.username) for u in users]
    assert rows.fetchall(sql, [-1, -2]) == []


@pytest.mark.postgres_only
def test_on_postgresql_a_hot_statement_is_planned_once_per_connection():
    user = register(holder(name="李四"))
    token = services.token_issue(user=user)
    for _ in range(3):
        assert services.user_for_token(token) == user
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
                    ['%FROM "identity_apitoken" t JOIN%'])
        assert cur.fetchone()[0] == 1


def test_a_prepared_statement_is_logged_with_its_text():
    """CaptureQueriesContext (and DEBUG's connection.queries) show the statement, as for any other."""
    user = register(holder(name="王五"))
    token = services.token_issue(user=user)
    with CaptureQueriesContext(connection) as q:
        services.user_for_token(token)
    assert any("identity_apitoken" in (x["sql"] or "") for x in q.captured_queries)
    assert all(x["sql"] for x in q.captured_queries)
