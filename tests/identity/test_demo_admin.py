"""Demo accounts and the read-only admin."""
from types import SimpleNamespace

import pytest

from jiaoguan.identity import services
from jiaoguan.identity.demo import DEMO_PASSWORD, create_demo_accounts
from jiaoguan.identity.models import User, VehicleBinding
from tests.factories import make_person
from tests.identity.helpers import PASSWORD, fresh_ip, holder, register

pytestmark = pytest.mark.django_db


def _city():
    citizen = holder(name="陈小明", phone="13800138000", vehicles=2)
    others = {k: make_person(name=k) for k in ("relative", "newcomer", "probation", "expired", "overdue", "uninsured")}
    return SimpleNamespace(showcase={"citizen": citizen, **others})


def test_demo_accounts_log_in():
    city = _city()
    rows = create_demo_accounts(city=city)
    assert [r[0] for r in rows] == ["citizen", "clerk", "clerk", "approver", "auditor", "admin"]
    assert [r[1] for r in rows] == ["13800138000", "clerk01", "reviewer01", "approver01", "auditor01",
                                     "admin01"]
    for role, login, password, note in rows:
        assert password == DEMO_PASSWORD and note
        user = services.login_with_password(login=login, password=password, ip=fresh_ip())
        assert user.role == role
    citizen = User.objects.get(role="citizen")
    assert citizen.person_id == city.showcase["citizen"].pk
    assert VehicleBinding.objects.filter(user=citizen, kind="own", status="active").count() == 2


def test_demo_accounts_twice_changes_nothing():
    city = _city()
    create_demo_accounts(city=city)
    before = list(User.objects.order_by("pk").values_list("pk", "password"))
    rows = create_demo_accounts(city=city)
    assert len(rows) == 6 and list(User.objects.order_by("pk").values_list("pk", "password")) == before


def test_admin_shows_masked_phone_and_no_password_hash(client):
    admin = services.staff_bootstrap(username="admin01", display_name="管理员", password=PASSWORD)
    citizen = register(holder())
    client.force_login(admin)
    listing = client.get("/admin/identity/user/")
    assert listing.status_code == 200
    html = listing.content.decode()
    masked = citizen.phone[:3] + "****" + citizen.phone[-4:]
    assert masked in html and citizen.phone not in html
    detail = client.get(f"/admin/identity/user/{citizen.pk}/change/")
    assert detail.status_code == 200
    page = detail.content.decode()
    assert citizen.phone not in page and "md5$" not in page and "argon2" not in page
    assert User.objects.get(pk=citizen.pk).password not in page
    assert client.get("/admin/identity/user/add/").status_code == 403
    tokens = client.get("/admin/identity/apitoken/")
    assert tokens.status_code == 200
