"""Issue (signed, audited, idempotent per source), masking, tamper detection, expiry, revocation, keys."""
from __future__ import annotations

import base64
import datetime as dt
import json

import pytest
from django.core.exceptions import ImproperlyConfigured

from jiaoguan.core.audit import Actor
from jiaoguan.core.errors import Conflict, InvalidInput, NotFound
from jiaoguan.core.models import AuditEntry
from jiaoguan.credentials import keys, rules, selectors, services, signing
from jiaoguan.credentials.models import Credential
from tests.credentials.conftest import SYS, holder, issue

pytestmark = pytest.mark.django_db

APPROVER = Actor(id=901, label="approver", role="approver")


@pytest.fixture
def fresh_keys():
    signing.reset()
    yield
    signing.reset()


def test_issue_signs_and_audits(user, credential):
    c = credential
    assert rules.number_valid(c.number) and len(c.token) >= 32
    assert c.holder == user and c.status == Credential.Status.ISSUED
    assert c.algorithm == "ed25519" and c.key_id == signing.active_key_id() and services.signature_valid(c)
    assert c.holder_display == "陈*行"
    assert [f["zh"] for f in c.fields] == ["号牌号码", "通行区域", "通行时段"]
    entry = AuditEntry.objects.get(action="credential.issue", object_id=str(c.pk))
    assert entry.new["number"] == c.number and entry.actor_label == SYS.label
    assert selectors.verify_url(c) == f"/credentials/verify/{c.number}/{c.token}/"
    assert services.credential_verify(number=c.number, token=c.token).status == rules.VALID


def test_issue_is_idempotent_per_source_and_kind(user):
    a = issue(user, source_id="A1")
    again = issue(user, source_id="A1", days=99, fields=[("别的", "Other", "x")])
    assert again.pk == a.pk and again.valid_until == a.valid_until and Credential.objects.count() == 1
    other_kind = issue(user, source_id="A1", kind="parking_licence")
    assert other_kind.pk != a.pk and Credential.objects.count() == 2
    assert AuditEntry.objects.filter(action="credential.issue").count() == 2
    assert selectors.credential_for_source(source_type="applications.application", source_id="A1",
                                          kind="truck_pass").pk == a.pk
    assert selectors.credential_for_source(source_type="applications.application", source_id="A1").pk == a.pk
    assert selectors.credential_for_source(source_type="applications.application", source_id="nope") is None


def test_issue_refuses_bad_input(user):
    with pytest.raises(InvalidInput) as e:
        issue(user, valid_from=dt.date(2026, 5, 1), valid_until=dt.date(2026, 4, 30))
    assert e.value.code == "credentials.bad_dates" and e.value.field == "valid_until"
    with pytest.raises(InvalidInput) as e:
        issue(user, fields=[("只有中文", "x")])
    assert e.value.code == "credentials.bad_fields"
    with pytest.raises(InvalidInput):
        services.credential_issue(kind="truck_pass", holder_user=user, title_zh="", title_en="x", fields=[],
                                  valid_from=dt.date(2026, 1, 1), valid_until=None, source_type="a", source_id="1",
                                  actor=SYS)
    assert Credential.objects.count() == 0


def test_personal_numbers_never_reach_the_credential_unmasked(user):
    c = issue(user, fields=[("驾驶证号", "Licence no.", "44030419900101123X"), ("联系电话", "Phone", "13800138000"),
                            ("内部备注", "Internal note", "仅持证人可见", False)])
    values = [f["value"] for f in c.fields]
    assert values[:2] == ["4403**********123X", "138****8000"]
    r = services.credential_verify(number=c.number, token=c.token)
    assert r.ok and [v for _zh, _en, v in r.public_fields] == ["4403**********123X", "138****8000"]
    assert "仅持证人可见" not in json.dumps(r.public_fields, ensure_ascii=False)


@pytest.mark.parametrize("change", [
    {"valid_until": dt.date(2099, 12, 31)},
    {"valid_from": dt.date(2000, 1, 1)},
    {"holder_display": "王*五"},
    {"title_zh": "危险品运输通行证"},
    {"fields": [{"zh": "号牌号码", "en": "Plate", "value": "粤B***99", "public": True}]},
    {"kind": "nonlocal_pass"},
    {"source_id": "B999"},
    {"algorithm": "hmac-sha256"},
    {"key_id": "other"},
    {"signature": "AAAA"},
    {"signature": "!!not base64!!"},
])
def test_a_tampered_row_fails_the_signature(credential, change):
    Credential.objects.filter(pk=credential.pk).update(**change)
    r = services.credential_verify(number=credential.number, token=credential.token)
    assert r.status == rules.SIGNATURE_MISMATCH and not r.ok and not r.genuine and r.public_fields == []


def test_a_row_moved_to_another_holder_fails_the_signature(credential):
    other = holder(name="王五六")
    Credential.objects.filter(pk=credential.pk).update(holder=other)
    assert services.credential_verify(number=credential.number, token=credential.token).status == \
        rules.SIGNATURE_MISMATCH


def test_wrong_token_or_number_is_not_found(credential):
    c = credential
    for number, token in [(c.number, c.token[:-1] + ("A" if c.token[-1] != "A" else "B")), (c.number, ""),
                          ("202600000000000", c.token), ("", ""), ("2026" + "x" * 11, c.token), (c.number * 3, c.token)]:
        r = services.credential_verify(number=number, token=token)
        assert r.status == rules.NOT_FOUND and r.credential is None


def test_expiry_and_start(clock, user):
    clock.freeze(dt.datetime(2026, 9, 28, 10, 0))
    c = issue(user, valid_from=dt.date(2026, 10, 1), valid_until=dt.date(2026, 10, 7))
    verify = lambda: services.credential_verify(number=c.number, token=c.token)  # noqa: E731
    assert verify().status == rules.NOT_YET_VALID
    clock.freeze(dt.datetime(2026, 10, 1, 0, 1))
    assert verify().ok
    clock.freeze(dt.datetime(2026, 10, 7, 23, 59))
    assert verify().ok
    clock.freeze(dt.datetime(2026, 10, 8, 0, 0))
    r = verify()
    assert r.status == rules.EXPIRED and r.genuine and not r.ok
    open_ended = issue(user, valid_until=None)
    clock.freeze(dt.datetime(2036, 1, 1))
    assert services.credential_verify(number=open_ended.number, token=open_ended.token).ok


def test_revoke(credential):
    c = services.credential_revoke(credential_id=credential.pk, actor=APPROVER, reason="车辆已转让")
    assert c.status == Credential.Status.REVOKED and c.revoked_by == "approver" and c.revoke_reason == "车辆已转让"
    r = services.credential_verify(number=c.number, token=c.token)
    assert r.status == rules.REVOKED and r.genuine and not r.ok
    entry = AuditEntry.objects.get(action="credential.revoke", object_id=str(c.pk))
    assert entry.reason == "车辆已转让" and entry.old == {"status": "issued"}
    with pytest.raises(Conflict) as e:
        services.credential_revoke(credential_id=c.pk, actor=APPROVER, reason="again")
    assert e.value.code == "credentials.already_revoked"
    with pytest.raises(NotFound):
        services.credential_revoke(credential_id=c.pk + 1000, actor=APPROVER, reason="x")


def test_revoke_needs_a_reason(credential):
    for reason in ("", "   ", "理" * 301):
        with pytest.raises(InvalidInput) as e:
            services.credential_revoke(credential_id=credential.pk, actor=APPROVER, reason=reason)
        assert e.value.field == "reason"
    credential.refresh_from_db()
    assert credential.status == Credential.Status.ISSUED


def test_a_revocation_cleared_on_the_row_still_counts(credential):
    services.credential_revoke(credential_id=credential.pk, actor=APPROVER, reason="伪造材料")
    Credential.objects.filter(pk=credential.pk).update(status="issued", revoked_at=None, revoked_by="",
                                                       revoke_reason="")
    assert services.credential_verify(number=credential.number, token=credential.token).status == rules.REVOKED


def test_holders_see_their_own_only(user, credential):
    other = holder(name="王五六")
    mine = issue(other)
    assert list(selectors.credentials_for_user(user=user)) == [credential]
    assert list(selectors.credentials_for_user(user=other)) == [mine]
    assert selectors.credential_of_user(user=user, number=credential.number) == credential
    for number in (mine.number, "nonsense", "202600000000000"):
        with pytest.raises(NotFound):
            selectors.credential_of_user(user=user, number=number)


# --- keys ---------------------------------------------------------------------------------------------------------

def _spec(kid: str) -> str:
    return f"{kid}:" + base64.b64encode(bytes(range(32)) if kid == "k1" else bytes(range(1, 33))).decode()


def test_rotation_keeps_old_credentials_valid(settings, fresh_keys, user):
    settings.JIAOGUAN_CREDENTIAL_KEYS = keys.parse_signing_keys(_spec("k1"))
    old = issue(user)
    assert old.key_id == "k1"
    settings.JIAOGUAN_CREDENTIAL_KEYS = keys.parse_signing_keys(_spec("k2") + "," + _spec("k1"))
    signing.reset()
    new = issue(user)
    assert new.key_id == "k2"
    assert services.credential_verify(number=old.number, token=old.token).ok
    assert services.credential_verify(number=new.number, token=new.token).ok
    # once k1 is dropped, what it signed no longer verifies
    settings.JIAOGUAN_CREDENTIAL_KEYS = keys.parse_signing_keys(_spec("k2"))
    signing.reset()
    assert services.credential_verify(number=old.number, token=old.token).status == rules.SIGNATURE_MISMATCH
    pub = signing.public_keys()
    assert [k["kid"] for k in pub] == ["k2"] and len(base64.urlsafe_b64decode(pub[0]["public_key"] + "=")) == 32


def test_the_public_key_checks_a_signature_offline(credential):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    kid = credential.key_id
    pub = next(k for k in signing.public_keys() if k["kid"] == kid)
    key = Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(pub["public_key"] + "="))
    sig = base64.urlsafe_b64decode(credential.signature + "=" * (-len(credential.signature) % 4))
    key.verify(sig, services._content(credential))  # raises if wrong


def test_hmac_when_cryptography_is_missing(monkeypatch, user):
    monkeypatch.setattr(signing, "ALGORITHM", signing.HMAC_SHA256)
    c = issue(user)
    assert c.algorithm == "hmac-sha256" and services.credential_verify(number=c.number, token=c.token).ok
    assert signing.public_keys() == []
    Credential.objects.filter(pk=c.pk).update(valid_until=dt.date(2099, 1, 1))
    assert services.credential_verify(number=c.number, token=c.token).status == rules.SIGNATURE_MISMATCH


def test_keys_come_from_the_environment_or_var(monkeypatch, tmp_path):
    monkeypatch.delenv(keys.ENV_NAME, raising=False)
    with pytest.raises(ImproperlyConfigured, match=keys.ENV_NAME):
        keys.load_signing_keys(production=True, var_dir=tmp_path)
    assert not (tmp_path / keys.DEV_FILE).exists()
    dev = keys.load_signing_keys(production=False, var_dir=tmp_path)
    assert dev == keys.load_signing_keys(production=False, var_dir=tmp_path)  # generated once, then reused
    assert (tmp_path / keys.DEV_FILE).stat().st_mode & 0o777 == 0o600
    monkeypatch.setenv(keys.ENV_NAME, _spec("prod1"))
    assert keys.load_signing_keys(production=True, var_dir=tmp_path)[0][0] == "prod1"
    short = "k1:" + base64.b64encode(b"short").decode()
    for bad in ("nokid", "k1:not-base64!", short, _spec("k1") + "," + _spec("k1"), "", "bad id:" + _spec("k1")[3:]):
        with pytest.raises(ImproperlyConfigured):
            keys.parse_signing_keys(bad)


def test_holder_display():
    from types import SimpleNamespace as NS

    assert services._holder_display(NS(enterprise_id=3, enterprise=NS(name="深圳市顺达物流有限公司"), person_id=None)) \
        == "深圳市顺达物流有限公司"
    assert services._holder_display(NS(enterprise_id=None, person_id=5, person=NS(name="欧阳娜娜"))) == "欧**娜"
    assert services._holder_display(NS(enterprise_id=None, person_id=None)) == ""
