"""The console's API-token pages (issue 10 item 4): a staff member sees and revokes their own tokens, an
administrator any staff member's; the token itself is never shown; someone else's is a 404 for everyone else."""
import datetime as dt

import pytest
from django.test import Client

from jiaoguan.core.models import AuditEntry
from jiaoguan.identity import services
from jiaoguan.identity.hashes import token_digest
from jiaoguan.identity.models import ApiToken
from tests.portal.support import EN, admin_user, citizen, staff_user, text

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def _works(token: str) -> bool:
    r = Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert r.status_code in (200, 401)
    return r.status_code == 200


def _id(token: str) -> int:
    return ApiToken.objects.get(token_hash=token_digest(token)).pk


@pytest.fixture
def admin():
    return admin_user("root001")


@pytest.fixture
def clerk(admin):
    return staff_user("clerk", "clerk001", display_name="张警官", admin=admin)


def test_staff_see_their_own_tokens_but_never_the_token(client, clerk, admin, clock):
    clock.freeze(T0)
    token = services.token_issue(user=clerk, label="执法终端")
    other = services.token_issue(user=admin, label="管理脚本")
    services.user_for_token(token)  # used once: "last used" is noted
    client.force_login(clerk)
    r = client.get("/console/tokens/")
    assert r.status_code == 200
    page = text(r)
    assert "我的 API 令牌" in page and "执法终端" in page and "管理脚本" not in page
    assert "2026-03-02 10:00" in page and "2026-03-02 18:00" in page  # issued, last used; ends after 8 hours
    assert "最长有效 8 小时" in page
    html = r.content.decode()
    assert token not in html and token_digest(token) not in html and other not in html
    assert "其他工作人员的令牌" not in page
    assert "API 令牌" in text(client.get("/console/"))


def test_the_page_in_english(client, clerk):
    services.token_issue(user=clerk, label="tablet")
    client.force_login(clerk)
    page = text(client.get("/console/tokens/", **EN))
    assert "My API tokens" in page and "Last used" in page and "at most 8 hours" in page and "tablet" in page


def test_staff_revoke_their_own_token(client, clerk):
    token = services.token_issue(user=clerk, label="执法终端")
    keep = services.token_issue(user=clerk, label="另一台")
    client.force_login(clerk)
    r = client.post(f"/console/tokens/{_id(token)}/revoke/")
    assert r.status_code == 302 and r["Location"] == "/console/tokens/"
    assert not _works(token) and _works(keep)
    page = text(client.get("/console/tokens/"))
    assert "令牌已撤销" in page and "执法终端" not in page and "另一台" in page
    entry = AuditEntry.objects.get(action="token.revoke")
    assert entry.actor_id == clerk.pk and entry.new["holder_id"] == clerk.pk


def test_an_administrator_sees_and_revokes_a_staff_members_tokens(client, clerk, admin):
    token = services.token_issue(user=clerk, label="执法终端")
    client.force_login(admin)
    page = text(client.get("/console/tokens/"))
    assert "其他工作人员的令牌" in page and "张警官" in page and "执法终端" in page
    assert f"/console/staff/{clerk.pk}/tokens/" in client.get("/console/staff/").content.decode()
    r = client.get(f"/console/staff/{clerk.pk}/tokens/")
    assert r.status_code == 200 and "张警官 的 API 令牌" in text(r) and "执法终端" in text(r)
    assert token not in r.content.decode()
    r = client.post(f"/console/tokens/{_id(token)}/revoke/")
    assert r.status_code == 302 and r["Location"] == f"/console/staff/{clerk.pk}/tokens/"
    assert not _works(token)
    entry = AuditEntry.objects.get(action="token.revoke")
    assert entry.actor_id == admin.pk and entry.new["holder_id"] == clerk.pk and entry.new["via"] == "console"


def test_revoking_from_the_overview_comes_back_to_it(client, clerk, admin):
    token = services.token_issue(user=clerk)
    client.force_login(admin)
    r = client.post(f"/console/tokens/{_id(token)}/revoke/", {"back": "mine"})
    assert r["Location"] == "/console/tokens/" and not _works(token)


@pytest.mark.parametrize("role", ["clerk", "approver", "auditor"])
def test_other_staff_cannot_see_or_revoke_someone_elses_tokens(client, clerk, admin, role):
    other = staff_user(role, f"other{role}", admin=admin)
    clerk_token = services.token_issue(user=clerk, label="执法终端")
    admin_token = services.token_issue(user=admin, label="管理脚本")
    client.force_login(other)
    for holder in (clerk, admin):
        assert client.get(f"/console/staff/{holder.pk}/tokens/").status_code == 404
    assert client.get(f"/console/staff/{other.pk}/tokens/").status_code == 200  # their own
    for token in (clerk_token, admin_token):
        assert client.post(f"/console/tokens/{_id(token)}/revoke/").status_code == 404
        assert _works(token)
    page = text(client.get("/console/tokens/"))
    assert "执法终端" not in page and "管理脚本" not in page
    assert not AuditEntry.objects.filter(action="token.revoke").exists()


def test_citizens_tokens_are_not_the_consoles(client, admin):
    user, _person, _, _ = citizen()
    token = services.token_issue(user=user, label="手机")
    client.force_login(admin)
    assert client.get(f"/console/staff/{user.pk}/tokens/").status_code == 404
    assert client.get("/console/staff/999999/tokens/").status_code == 404
    assert client.post(f"/console/tokens/{_id(token)}/revoke/").status_code == 404
    assert client.post("/console/tokens/999999/revoke/").status_code == 404
    assert "手机" not in text(client.get("/console/tokens/"))
    assert _works(token)


def test_the_pages_need_a_staff_login(client, clerk):
    token = services.token_issue(user=clerk)
    assert client.get("/console/tokens/")["Location"].startswith("/console/login/")
    r = client.post(f"/console/tokens/{_id(token)}/revoke/")
    assert r.status_code == 302 and _works(token)
    user, _person, _, _ = citizen()
    client.force_login(user)
    assert client.get("/console/tokens/").status_code == 403
    assert client.post(f"/console/tokens/{_id(token)}/revoke/").status_code == 403
    assert _works(token)


def test_revoking_needs_the_csrf_token(clerk):
    token = services.token_issue(user=clerk)
    c = Client(enforce_csrf_checks=True)
    c.force_login(clerk)
    assert c.post(f"/console/tokens/{_id(token)}/revoke/").status_code == 403
    assert _works(token)


def test_ended_and_revoked_tokens_are_not_listed(client, clerk, clock, settings):
    clock.freeze(T0)
    services.token_issue(user=clerk, label="昨天的")
    clock.advance(dt.timedelta(seconds=settings.SESSION_COOKIE_AGE))
    gone = services.token_issue(user=clerk, label="撤销的")
    services.token_revoke(user=clerk, token=gone)
    services.token_issue(user=clerk, label="今天的")
    client.force_login(clerk)
    page = text(client.get("/console/tokens/"))
    assert "今天的" in page and "昨天的" not in page and "撤销的" not in page
