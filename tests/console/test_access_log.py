"""The auditor's list of access rows: who, role, when, whose record (masked), action, reason; filters."""
import pytest
from django.test import Client

from tests.portal.support import EN, citizen_records, field_errors, staff_user, text

pytestmark = pytest.mark.django_db


@pytest.fixture
def looked_at():
    """Two clerks looked at two persons; one unmasked with a reason."""
    clerk_a = staff_user("clerk", "clerk001", display_name="张警官")
    clerk_b = staff_user("approver", "appr002", display_name="李警官")
    p1, _, _ = citizen_records(name="黄大明")
    p2, _, _ = citizen_records(name="周小云")
    a, b = Client(), Client()
    a.force_login(clerk_a)
    b.force_login(clerk_b)
    a.get(f"/console/persons/{p1.pk}/")
    a.post(f"/console/persons/{p1.pk}/unmask/", {"reason": "窗口办理换证，核对身份"})
    b.get(f"/console/persons/{p2.pk}/")
    return clerk_a, clerk_b, p1, p2


def test_auditor_sees_every_access_row(client, looked_at):
    clerk_a, clerk_b, p1, p2 = looked_at
    client.force_login(staff_user("auditor", "audit001"))
    r = client.get("/console/audit/access/")
    assert r.status_code == 200
    page = text(r)
    assert "共 3 条记录" in page
    assert "张警官（clerk001）" in page and "李警官（appr002）" in page
    assert "窗口民警" in page and "审批民警" in page
    assert "黄*明" in page and "周*云" in page
    assert p1.id_number not in page and p1.id_number[-4:] in page and p1.name not in page
    assert "查看完整信息" in page and "查看（已脱敏）" in page and "窗口办理换证，核对身份" in page
    entries = r.context["entries"]
    assert [e["entry"].action for e in entries] == ["person.view", "person.unmask", "person.view"]  # newest first
    page_en = text(client.get("/console/audit/access/", **EN))
    assert "Unmasked" in page_en and "Window clerk" in page_en and "3 rows" in page_en


def test_filter_by_staff_member(client, looked_at):
    client.force_login(staff_user("auditor", "audit001"))
    r = client.get("/console/audit/access/", {"staff": "clerk001"})
    page = text(r)
    assert "共 2 条记录" in page and "appr002" not in page.split("共 2 条记录")[1]
    r = client.get("/console/audit/access/", {"staff": "nobody"})
    assert r.status_code == 400 and field_errors(r, "staff") == ["没有这个工作人员账户"]
    assert "共 0 条记录" in text(r)


def test_filter_by_citizen_id_number(client, looked_at):
    clerk_a, clerk_b, p1, p2 = looked_at
    client.force_login(staff_user("auditor", "audit001"))
    r = client.get("/console/audit/access/", {"id_number": p2.id_number})
    page = text(r)
    assert "共 1 条记录" in page and "周*云" in page and "黄*明" not in page
    r = client.get("/console/audit/access/", {"id_number": "123"}, **EN)
    assert r.status_code == 422 and field_errors(r, "id_number")
    assert "0 rows" in text(r)


def test_pagination_keeps_the_filter(client, looked_at, monkeypatch):
    from jiaoguan.console.persons import views

    monkeypatch.setattr(views, "PAGE_SIZE", 1)
    client.force_login(staff_user("auditor", "audit001"))
    r = client.get("/console/audit/access/", {"staff": "clerk001"})
    assert "第 1 / 2 页" in text(r)
    assert "?staff=clerk001&amp;id_number=&amp;page=2" in r.content.decode() or \
        "?staff=clerk001&amp;page=2" in r.content.decode()
    r = client.get("/console/audit/access/", {"staff": "clerk001", "page": 2})
    assert [e["entry"].action for e in r.context["entries"]] == ["person.view"]


def test_an_overlong_filter_is_a_field_error(client, looked_at):
    client.force_login(staff_user("auditor", "audit001"))
    r = client.get("/console/audit/access/", {"staff": "x" * 100})
    assert r.status_code == 400 and field_errors(r, "staff")
    assert "共 0 条记录" in text(r)
