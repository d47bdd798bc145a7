"""Console pages: pools with counts, generating (approver), policies (add, deactivate), clerks view only."""
from __future__ import annotations

import pytest

from jiaoguan.plates.models import PlateNumber, WithholdPolicy
from tests.plates.conftest import owner_with_new_car
from tests.portal.support import staff_user

pytestmark = pytest.mark.django_db


def test_clerk_views_approver_edits(client, office):
    clerk = staff_user("clerk", "clerk401")
    approver = staff_user("approver", "appr401")
    client.force_login(clerk)
    html = client.get("/console/plates/").content.decode()
    assert "号牌号码池" in html and "1000" in html and "生成号码" not in html
    r = client.post(f"/console/plates/offices/{office.pk}/generate/", {"kind": "02", "series": "C000#"})
    assert r.status_code == 403
    assert client.get("/console/plates/policies/").status_code == 200
    assert client.post("/console/plates/policies/add/", {"office": office.pk, "name": "x", "rule": "prefix",
                                                         "value": "J"}).status_code == 403
    client.force_login(approver)
    r = client.post(f"/console/plates/offices/{office.pk}/generate/", {"kind": "02", "series": "C000#"})
    assert r.status_code == 200 and "新增 10 个" in r.content.decode()
    r = client.post(f"/console/plates/offices/{office.pk}/generate/", {"kind": "02", "series": "C0"})
    assert r.status_code == 422 and "号段格式不正确" in r.content.decode()
    r = client.post("/console/plates/policies/add/", {"office": office.pk, "name": "警用", "rule": "prefix",
                                                      "value": "A000", "kind": ""})
    assert r.status_code == 302
    p = WithholdPolicy.objects.get()
    assert PlateNumber.objects.filter(status="withheld").count() == 10
    r = client.post("/console/plates/policies/add/", {"office": office.pk, "name": "坏", "rule": "regex", "value": "("})
    assert r.status_code == 422 and "正则表达式无效" in r.content.decode()
    assert client.post(f"/console/plates/policies/{p.pk}/deactivate/").status_code == 302
    assert not PlateNumber.objects.filter(status="withheld").exists()
    assert client.post("/console/plates/policies/99999/deactivate/").status_code == 404


def test_citizen_and_auditor_refused(client, office):
    user, _car = owner_with_new_car()
    client.force_login(user)
    r = client.get("/console/plates/")
    assert r.status_code in (302, 403)
    client.force_login(staff_user("auditor", "audit401"))
    assert client.get("/console/plates/").status_code == 403


@pytest.mark.parametrize("role", ["clerk", "approver"])
def test_generate_and_policy_forms_offered_iff_the_services_accept(role, office, client):
    """The pools page's 生成 form and the policies page's add form are shown exactly to the staff whose role the
    plates services accept (services.MANAGE)."""
    from jiaoguan.console.plates.views import can_manage
    from jiaoguan.core.audit import Actor
    from jiaoguan.core.errors import Forbidden
    from jiaoguan.plates import services
    from tests.portal.support import staff_user

    user = staff_user(role, f"{role[:4]}813")
    client.force_login(user)
    index = client.get("/console/plates/").content.decode()
    policies = client.get("/console/plates/policies/").content.decode()
    try:
        services.plate_pool_generate(office=office, kind="02", series="A00##", actor=Actor.of(user))
        accepted = True
    except Forbidden:
        accepted = False
    generate_url = f"/console/plates/offices/{office.pk}/generate/"
    assert (generate_url in index) == ("/console/plates/policies/add/" in policies) == can_manage(user) == accepted
    assert accepted == (role == "approver")
