"""The staff console: log in, start page by role, permissions (403 page), staff accounts."""
import pytest

from jiaoguan.core.models import AuditEntry
from jiaoguan.identity.models import User
from tests.portal.support import EN, PASSWORD, admin_user, citizen, field_errors, staff_user, text

pytestmark = pytest.mark.django_db

CONSOLE_PAGES = {
    "/console/persons/": "person.search",
    "/console/persons/1/": "person.view",
    "/console/audit/access/": "audit.view_access",
    "/console/staff/": "staff.manage",
}


def test_staff_log_in_and_land_on_their_start_page(client):
    staff_user("clerk", "clerk001", display_name="张警官")
    page = text(client.get("/console/login/"))
    assert "工作人员登录" in page and "用户名（警号）" in page
    r = client.post("/console/login/", {"username": "clerk001", "password": PASSWORD})
    assert r.status_code == 302 and r["Location"] == "/console/"
    r = client.get("/console/")
    page = text(r)
    assert "张警官，您好" in page and "窗口民警" in page and "人员查询" in page
    assert "访问审计" not in page and "工作人员账户" not in page
    assert '<body class="console">' in r.content.decode()


def test_start_page_differs_by_role(client):
    auditor = staff_user("auditor", "audit001")
    client.force_login(auditor)
    page = text(client.get("/console/"))
    assert "访问审计" in page and "人员查询" not in page
    admin = admin_user("root001")
    client.force_login(admin)
    page = text(client.get("/console/"))
    assert "工作人员账户" in page and "人员查询" not in page and "访问审计" not in page


def test_citizens_are_refused_at_the_console_login(client):
    user, person, _, _ = citizen()
    r = client.post("/console/login/", {"username": person.phone, "password": PASSWORD})
    assert r.status_code == 403
    assert "此入口仅供工作人员使用" in text(r)
    assert "_auth_user_id" not in client.session
    r = client.post("/console/login/", {"username": person.phone, "password": PASSWORD}, **EN)
    assert "This entrance is for staff only" in text(r)


def test_wrong_password_and_empty_fields(client):
    staff_user("clerk", "clerk001")
    r = client.post("/console/login/", {"username": "clerk001", "password": "wrong-password"})
    assert r.status_code == 401 and "账号或密码错误" in text(r)
    assert 'value="clerk001"' in r.content.decode()
    r = client.post("/console/login/", {"username": "", "password": ""}, **EN)
    assert r.status_code == 400 and field_errors(r, "username") == ["This field is required."]


def test_login_next_stays_inside_the_console(client):
    staff_user("clerk", "clerk001")
    r = client.get("/console/persons/")
    assert r.status_code == 302 and r["Location"] == "/console/login/?next=%2Fconsole%2Fpersons%2F"
    r = client.post("/console/login/?next=/console/persons/", {"username": "clerk001", "password": PASSWORD,
                                                                "next": "/console/persons/"})
    assert r["Location"] == "/console/persons/"
    client.post("/console/logout/")
    r = client.post("/console/login/", {"username": "clerk001", "password": PASSWORD, "next": "//evil.example/"})
    assert r["Location"] == "/console/"


@pytest.mark.parametrize("role", ["citizen", "clerk", "approver", "auditor", "admin"])
def test_every_console_page_checks_its_permission(client, role):
    from jiaoguan.identity.roles import has_permission

    if role == "citizen":
        user = citizen()[0]
    elif role == "admin":
        user = admin_user("root009")
    else:
        user = staff_user(role, f"{role}009")
    client.force_login(user)
    for url, permission in CONSOLE_PAGES.items():
        r = client.get(url)
        if has_permission(user, permission):
            assert r.status_code in (200, 404), (role, url)
        else:
            assert r.status_code == 403, (role, url)
            assert "无权访问" in text(r)
    r = client.get("/console/")
    assert r.status_code == (403 if role == "citizen" else 200)
    # posts are checked too
    assert client.post("/console/persons/1/unmask/", {"reason": "核对身份信息"}).status_code in (
        (403,) if not has_permission(user, "person.unmask") else (404,))
    assert client.post("/console/staff/", {}).status_code == (400 if role == "admin" else 403)


def test_anonymous_visitors_go_to_the_console_login(client):
    for url in ["/console/", *CONSOLE_PAGES]:
        r = client.get(url)
        assert r.status_code == 302 and r["Location"].startswith("/console/login/?next=")


def test_logout_needs_post(client):
    client.force_login(staff_user("clerk", "clerk001"))
    assert client.get("/console/logout/").status_code == 405
    assert client.post("/console/logout/")["Location"] == "/console/login/"
    assert client.get("/console/").status_code == 302


def test_admin_creates_and_deactivates_staff(client):
    admin = admin_user("root001")
    client.force_login(admin)
    page = text(client.get("/console/staff/"))
    assert "新建工作人员账户" in page and "root001" in page
    r = client.post("/console/staff/", {"username": "clerk042", "display_name": "李警官", "role": "clerk",
                                        "phone": "", "password": PASSWORD, "password2": PASSWORD})
    assert r.status_code == 302
    created = User.objects.get(username="clerk042")
    assert created.role == "clerk" and created.is_active
    page = text(client.get("/console/staff/"))
    assert "已创建工作人员账户 clerk042" in page and "李警官" in page and "窗口民警" in page
    assert AuditEntry.objects.filter(action="staff.create", object_id=str(created.pk)).exists()

    r = client.post(f"/console/staff/{created.pk}/active/", {"active": "0"})
    assert r.status_code == 302
    created.refresh_from_db()
    assert not created.is_active
    assert "已停用账户 clerk042" in text(client.get("/console/staff/"))
    # the deactivated clerk cannot log in any more
    other = client_class_login("clerk042")
    assert other.status_code == 403
    r = client.post(f"/console/staff/{created.pk}/active/", {"active": "1"})
    created.refresh_from_db()
    assert created.is_active


def client_class_login(username):
    from django.test import Client

    return Client().post("/console/login/", {"username": username, "password": PASSWORD})


def test_staff_form_errors_in_both_languages(client):
    client.force_login(admin_user("root001"))
    data = {"username": "9bad name", "display_name": "", "role": "citizen", "phone": "123",
            "password": PASSWORD, "password2": PASSWORD + "x"}
    r = client.post("/console/staff/", data)
    assert r.status_code == 400
    assert field_errors(r, "password2") == ["两次输入的密码不一致"]
    assert field_errors(r, "display_name") == ["这个字段是必填项。"]
    assert field_errors(r, "role")  # citizen is not a staff role
    assert 'value="9bad name"' in r.content.decode()
    data.update(role="clerk", display_name="王警官", password2=PASSWORD)
    r = client.post("/console/staff/", data, **EN)
    assert r.status_code == 422
    assert field_errors(r, "username") == ["A username has 3–32 letters, digits or _ . -, starting with a letter"]
    assert field_errors(r, "phone") == ["Enter an 11-digit mainland China mobile number"]
    assert not User.objects.filter(display_name="王警官").exists()


def test_admin_cannot_deactivate_themselves_or_citizens(client):
    admin = admin_user("root001")
    user, *_ = citizen()
    client.force_login(admin)
    r = client.post(f"/console/staff/{admin.pk}/active/", {"active": "0"})
    assert r.status_code == 422 and "不能停用或启用自己的账户" in text(r)
    r = client.post(f"/console/staff/{user.pk}/active/", {"active": "0"})
    assert r.status_code == 404
    user.refresh_from_db()
    admin.refresh_from_db()
    assert user.is_active and admin.is_active
