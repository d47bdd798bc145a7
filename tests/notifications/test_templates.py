"""Templates: the seeded defaults render in Chinese and English; staff edits are validated and audited."""
from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from jiaoguan.core.audit import Actor
from jiaoguan.core.errors import DomainError
from jiaoguan.core.models import AuditEntry
from jiaoguan.notifications import defaults, rules
from jiaoguan.notifications.models import MessageTemplate
from jiaoguan.notifications.services import (
    MissingParams,
    NotificationError,
    UnknownTemplate,
    message_render,
    message_template_update,
)

REQUIRED = {
    "otp.register": {"code", "minutes"},
    "otp.login": {"code", "minutes"},
    "otp.reset": {"code", "minutes"},
    "otp.bind": {"code", "minutes", "plate", "requester"},
    "binding.confirmed": set(),
    "binding.ended": {"plate"},
    "account.welcome": set(),
    "account.locked": {"minutes"},
    "password.changed": set(),
    "licence.expiring": {"date"},
    "inspection.due": {"plate", "date"},
}
SAMPLE = {"code": "493817", "minutes": 5, "plate": "粤B12345", "requester": "李*华（尾号0000）",
          "date": dt.date(2026, 5, 1)}


@pytest.mark.django_db
def test_the_migration_seeded_every_default_template_and_each_row_is_valid():
    rows = {t.code: t for t in MessageTemplate.objects.all()}
    assert set(REQUIRED) <= set(rows)
    for code, params in REQUIRED.items():
        row = rows[code]
        assert set(row.param_names) == params, code
        row.full_clean()  # texts use only declared placeholders, subjects hold no code
        if code.startswith("otp."):
            assert row.secret_names == ["code"]


@pytest.mark.django_db
@pytest.mark.parametrize("code", sorted(REQUIRED))
def test_every_template_renders_in_both_languages_with_every_parameter(code):
    params = {k: SAMPLE[k] for k in REQUIRED[code]}
    zh = message_render(template=code, params=params, language="zh-hans")
    en = message_render(template=code, params=params, language="en")
    assert zh.language == "zh-hans" and en.language == "en"
    for text in (zh.body, en.body, zh.subject, en.subject):
        assert "{" not in text and "}" not in text and text.strip()
    assert any("\u4e00" <= ch <= "\u9fff" for ch in zh.body)
    assert en.body.isascii() or "粤B12345" in en.body or "李*华" in en.body
    for name in REQUIRED[code] - {"date"}:
        assert str(SAMPLE[name]) in zh.body and str(SAMPLE[name]) in en.body
    if "date" in REQUIRED[code]:
        assert "2026年5月1日" in zh.body and "1 May 2026" in en.body


@pytest.mark.django_db
def test_bind_code_tells_the_owner_who_asks_and_to_share_only_if_they_agree():
    zh = message_render(template="otp.bind", params=SAMPLE, language="zh-hans").body
    en = message_render(template="otp.bind", params=SAMPLE, language="en").body
    assert "李*华" in zh and "粤B12345" in zh and "493817" in zh and "同意" in zh and "请勿" in zh
    assert "Only if you agree" in en and "do not share" in en


@pytest.mark.django_db
def test_unknown_template_and_missing_parameters_are_clear_programming_errors():
    with pytest.raises(UnknownTemplate, match="no message template 'otp.nope'.*otp.login"):
        message_render(template="otp.nope", params={})
    with pytest.raises(MissingParams, match="needs code, minutes; missing minutes"):
        message_render(template="otp.login", params={"code": "123456"})
    with pytest.raises(MissingParams, match="missing code"):
        message_render(template="otp.login", params={"code": "", "minutes": 5})
    # the caller's bug, not a citizen's: not a DomainError (those become a 4xx with a message to the citizen)
    assert issubclass(MissingParams, NotificationError) and not issubclass(MissingParams, DomainError)
    assert issubclass(UnknownTemplate, NotificationError) and not issubclass(UnknownTemplate, DomainError)


@pytest.mark.django_db
def test_a_deleted_row_falls_back_to_the_default_and_an_edited_row_wins():
    MessageTemplate.objects.filter(code="account.welcome").delete()
    assert message_render(template="account.welcome", params={}).body == defaults.BY_CODE["account.welcome"].body_zh
    MessageTemplate.objects.filter(code="password.changed").update(body_zh="密码改了。")
    assert message_render(template="password.changed", params={}).body == "密码改了。"


@pytest.mark.django_db
@pytest.mark.parametrize("field, value, complaint", [
    ("body_zh", "验证码{code", "Template problem"),
    ("body_en", "Code {pin}", "unknown placeholder"),
    ("subject_zh", "验证码{code}", "must not contain a one-time code"),
    ("active", False, "cannot be switched off"),
])
def test_template_validation(field, value, complaint):
    row = MessageTemplate.objects.get(code="otp.login")
    setattr(row, field, value)
    with pytest.raises(ValidationError) as info:
        row.full_clean()
    assert field in info.value.message_dict
    assert complaint in " ".join(info.value.message_dict[field])


@pytest.mark.django_db
def test_template_update_is_validated_and_audited():
    row = MessageTemplate.objects.get(code="account.welcome")
    actor = Actor(id=7, label="管理员 admin", role="admin")
    updated = message_template_update(template=row, actor=actor, changes={"body_zh": "欢迎！", "active": False})
    assert updated.body_zh == "欢迎！" and updated.active is False and updated.updated_at is not None
    entry = AuditEntry.objects.get(action="message_template.update")
    assert entry.old == {"body_zh": defaults.BY_CODE["account.welcome"].body_zh, "active": True}
    assert entry.new == {"body_zh": "欢迎！", "active": False}
    with pytest.raises(ValidationError):
        message_template_update(template=row, actor=actor, changes={"body_en": "Welcome {name}"})
    with pytest.raises(NotificationError, match="not editable: params"):
        message_template_update(template=row, actor=actor, changes={"params": "name"})
    assert MessageTemplate.objects.get(code="account.welcome").body_en == defaults.BY_CODE["account.welcome"].body_en
    # nothing changed → nothing audited
    message_template_update(template=row, actor=actor, changes={"body_zh": "欢迎！"})
    assert AuditEntry.objects.filter(action="message_template.update").count() == 1


def test_defaults_are_consistent():
    for t in defaults.TEMPLATES:
        for text in (t.subject_zh, t.subject_en, t.body_zh, t.body_en):
            rules.check_text(text, allowed=t.params)
        assert set(t.secret) <= set(t.params)
        assert not t.body_zh.startswith("【"), "the SMS channel adds the signature"


@pytest.mark.django_db
def test_seeding_templates_keeps_staff_edits_and_restores_missing_rows():
    from jiaoguan.notifications.services import message_templates_seed

    MessageTemplate.objects.filter(code="account.welcome").update(body_zh="欢迎！")
    MessageTemplate.objects.filter(code="otp.login").delete()
    assert message_templates_seed() == 1
    assert MessageTemplate.objects.get(code="account.welcome").body_zh == "欢迎！"
    assert MessageTemplate.objects.filter(code="otp.login").exists()
