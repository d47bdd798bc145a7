"""Message templates and the messages sent from them (SMS and the in-app inbox).

A message's status moves only through the transition functions in ``services.py``
(created → sending → delivered / failed; a retryable failure goes back to created with a later
``next_attempt_at``). Nothing else assigns ``status``.
"""
from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from jiaoguan.core.fields import EncryptedField, LookupHashField
from jiaoguan.core.i18n import bi
from jiaoguan.notifications import rules


class MessageTemplate(models.Model):
    """The text of one kind of message in Chinese and English with {placeholders}, editable by staff."""

    code = models.CharField("代码 code", max_length=60, unique=True, help_text="e.g. otp.login; used by the code")
    description = models.CharField("说明 description", max_length=200, blank=True)
    params = models.CharField(
        "参数 parameters", max_length=200, blank=True,
        help_text="comma-separated names the sender passes; the texts may use only these as {name}",
    )
    secret_params = models.CharField(
        "保密参数 secret parameters", max_length=200, blank=True,
        help_text="one-time codes: never stored in clear (the rendered text is stored encrypted)",
    )
    subject_zh = models.CharField("标题（中文） subject (Chinese)", max_length=60)
    subject_en = models.CharField("标题（英文） subject (English)", max_length=100)
    body_zh = models.TextField("正文（中文） text (Chinese)", help_text="without the 【交管】 signature: SMS adds it")
    body_en = models.TextField("正文（英文） text (English)")
    active = models.BooleanField("启用 active", default=True)
    updated_at = models.DateTimeField("更新时间 updated", null=True, blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = "消息模板 message template"
        verbose_name_plural = "消息模板 message templates"

    def __str__(self) -> str:
        return self.code

    @property
    def param_names(self) -> list[str]:
        return rules.split_names(self.params)

    @property
    def secret_names(self) -> list[str]:
        return rules.split_names(self.secret_params)

    def clean(self) -> None:
        errors: dict[str, str] = {}
        for name in ("subject_zh", "subject_en", "body_zh", "body_en"):
            try:
                rules.check_text(getattr(self, name), allowed=self.param_names)
            except rules.TemplateSyntaxProblem as exc:
                errors[name] = f"模板格式错误 Template problem: {exc}"
        for name in ("subject_zh", "subject_en"):
            leaked = set(rules.placeholders(getattr(self, name))) & set(self.secret_names)
            if leaked and name not in errors:
                errors[name] = "标题不能包含验证码 The subject must not contain a one-time code"
        if not set(self.secret_names) <= set(self.param_names):
            errors["secret_params"] = "保密参数必须是参数之一 Secret parameters must be among the parameters"
        if not self.active and self.code.startswith("otp."):
            errors["active"] = "验证码短信不能停用 One-time code messages cannot be switched off"
        if errors:
            raise ValidationError(errors)


class Message(models.Model):
    """One message to one recipient on one channel, with its delivery history."""

    class Channel(models.TextChoices):
        SMS = "sms", bi("短信", "SMS")
        INBOX = "inbox", bi("站内消息", "Inbox")

    class Status(models.TextChoices):
        CREATED = rules.CREATED, bi("待发送", "Queued")
        SENDING = rules.SENDING, bi("发送中", "Sending")
        DELIVERED = rules.DELIVERED, bi("已送达", "Delivered")
        FAILED = rules.FAILED, bi("发送失败", "Failed")

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="messages",
        verbose_name="收件人 recipient",
    )
    phone = EncryptedField("手机号 phone", hash_purpose="phone", null=True, blank=True)
    phone_hash = LookupHashField(source="phone", null=True, blank=True)
    template_code = models.CharField("模板 template", max_length=60, db_index=True)
    # Parameters without the secret ones (one-time codes): what staff may see of how the text was made.
    params = models.JSONField("参数 parameters", default=dict, blank=True, encoder=DjangoJSONEncoder)
    channel = models.CharField("渠道 channel", max_length=8, choices=Channel.choices)
    language = models.CharField("语言 language", max_length=8, default=rules.DEFAULT_LANGUAGE)
    subject = models.CharField("标题 subject", max_length=120, blank=True)
    # The rendered text exactly as sent (SMS: with the signature), encrypted: it may hold a one-time code.
    body = EncryptedField("正文 text")
    # An inbox message is read in the reader's language at the time of reading, which may not be the language it
    # was sent in: the same template rendered in the other language when it was sent (None for SMS, which is
    # read as it was sent). See ``text_in``.
    alt_subject = models.CharField("另一语言标题 subject in the other language", max_length=120, blank=True)
    alt_body = EncryptedField("另一语言正文 text in the other language", null=True, blank=True)
    status = models.CharField(
        "状态 status", max_length=10, choices=Status.choices, default=Status.CREATED, db_index=True
    )
    attempts = models.PositiveSmallIntegerField("尝试次数 attempts", default=0)
    next_attempt_at = models.DateTimeField("下次尝试 next attempt", null=True, blank=True)
    provider = models.CharField("通道商 provider", max_length=120, blank=True)
    provider_message_id = models.CharField("通道商消息号 provider message id", max_length=120, blank=True)
    last_error = models.TextField("最近错误 last error", blank=True)
    created_at = models.DateTimeField("创建时间 created")
    sent_at = models.DateTimeField("发送时间 sent", null=True, blank=True,
                                   help_text="when the latest attempt started")
    delivered_at = models.DateTimeField("送达时间 delivered", null=True, blank=True)
    failed_at = models.DateTimeField("失败时间 failed", null=True, blank=True)
    read_at = models.DateTimeField("阅读时间 read", null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "消息 message"
        verbose_name_plural = "消息 messages"
        indexes = [
            # the sweep: queued or sending SMS by time
            models.Index(fields=["status", "next_attempt_at"], name="notif_msg_status_next"),
            # the inbox of one user
            models.Index(fields=["recipient", "channel", "-created_at"], name="notif_msg_inbox"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(channel="sms") | models.Q(phone__isnull=False),
                name="notif_msg_sms_has_phone",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.template_code} #{self.pk} ({self.channel}, {self.status})"

    @property
    def is_read(self) -> bool:
        return self.read_at is not None

    def text_in(self, language: str | None) -> tuple[str, str]:
        """(subject, body) in ``language`` (zh-hans unless "en…"): the text as sent when that is its language or
        no other rendering was stored, else the other language's rendering."""
        if rules.normalise_language(language) != self.language and self.alt_body:
            return self.alt_subject, self.alt_body
        return self.subject, self.body
