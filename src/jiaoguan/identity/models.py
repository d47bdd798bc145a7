"""Accounts, one-time SMS codes, API tokens, enterprises and vehicle bindings."""
from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.utils.crypto import salted_hmac

from jiaoguan.core import clock
from jiaoguan.core.fields import EncryptedField, LookupHashField
from jiaoguan.core.i18n import bi
from jiaoguan.identity.roles import STAFF_ROLES, Role


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, username: str, password: str | None = None, **extra):
        extra.setdefault("date_joined", clock.now())
        user = self.model(username=username, **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, username: str, password: str | None = None, **extra):
        extra.update(is_staff=True, is_superuser=True, role=Role.ADMIN)
        return self.create_user(username, password, **extra)


class Enterprise(models.Model):
    """A company account (transport fleet, 4S dealer, driving school, parking operator)."""

    name = models.CharField(max_length=120)
    uscc = models.CharField("统一社会信用代码", max_length=18, unique=True)
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.name


class User(AbstractBaseUser, PermissionsMixin):
    """One account per person. Citizens log in by phone; staff by their username (警号)."""

    username = models.CharField(max_length=64, unique=True)
    role = models.CharField(max_length=12, choices=Role.choices, default=Role.CITIZEN, db_index=True)
    phone = EncryptedField(hash_purpose="phone", blank=True, null=True)
    phone_hash = LookupHashField(source="phone", unique=True, blank=True, null=True)
    display_name = models.CharField(max_length=60, blank=True, help_text="staff only; citizens' names come from the registry")
    person = models.OneToOneField(
        "registry.Person", on_delete=models.PROTECT, null=True, blank=True, related_name="account"
    )
    enterprise = models.ForeignKey(Enterprise, on_delete=models.PROTECT, null=True, blank=True, related_name="users")
    real_name_verified_at = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False, help_text="may use the Django admin (reference data)")
    date_joined = models.DateTimeField()
    failed_logins = models.PositiveSmallIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)
    preferred_language = models.CharField(max_length=8, default="zh-hans")

    USERNAME_FIELD = "username"
    REQUIRED_FIELDS: list[str] = []
    objects = UserManager()

    class Meta:
        verbose_name = "账户 account"
        verbose_name_plural = "账户 accounts"

    def _get_session_auth_hash(self, secret=None) -> str:
        """Django's session check (a signed-in session ends when this changes), over the phone as well as the
        password: an account moved to another number — by its holder, or when a change of the phone on file takes
        effect — ends every other session (the page that made the change keeps its own by
        ``update_session_auth_hash``)."""
        return salted_hmac("jiaoguan.identity.User.session_auth_hash", f"{self.password}\x1f{self.phone_hash or ''}",
                           secret=secret, algorithm="sha256").hexdigest()

    @property
    def is_police(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def audit_label(self) -> str:
        return f"{Role(self.role).label.zh} {self.username}"

    def __str__(self) -> str:
        return self.username


class SmsCode(models.Model):
    """A one-time code sent by SMS. Only its hash is stored; it expires, allows a few attempts, is used once."""

    class Purpose(models.TextChoices):
        REGISTER = "register", bi("注册", "Registration")
        LOGIN = "login", bi("登录", "Login")
        RESET = "reset", bi("重置密码", "Password reset")
        BIND = "bind", bi("车主确认绑定", "Owner confirms binding")
        PHONE = "phone", bi("更换手机号", "Phone change")
        PHONE_FILE = "phone_file", bi("变更预留手机号", "Change of the phone on file")

    phone_hash = models.CharField(max_length=64, db_index=True)
    purpose = models.CharField(max_length=10, choices=Purpose.choices)
    code_hash = models.CharField(max_length=128)
    context = models.CharField(max_length=64, blank=True,
                               help_text="e.g. the binding request id; for a phone change the account id")
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["phone_hash", "purpose", "created_at"])]


class ApiToken(models.Model):
    """A bearer token for apps. Only a SHA-256 of the token is stored. It works until ``expires_at`` (a staff
    member's no longer than a console session: identity.rules.token_ends_at), until it is revoked, and while the
    account is active and its password is the one it was issued under (``password_stamp``)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    token_hash = models.CharField(max_length=64, unique=True)
    label = models.CharField(max_length=60, blank=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    password_stamp = models.CharField(max_length=64, blank=True,
                                      help_text="identity.hashes.password_stamp of the password it was issued under")


class VehicleBinding(models.Model):
    """A user's link to a vehicle (DOMAIN §1): own vehicles bound automatically; up to N vehicles of others
    with the owner's SMS confirmation; at most M users per vehicle including the owner."""

    class Kind(models.TextChoices):
        OWN = "own", bi("本人车辆", "Own vehicle")
        OTHER = "other", bi('他人车辆', "Someone else's vehicle")

    class Status(models.TextChoices):
        PENDING = "pending", bi("待车主确认", "Waiting for the owner")
        ACTIVE = "active", bi("已绑定", "Bound")
        ENDED = "ended", bi("已解绑", "Unbound")
        EXPIRED = "expired", bi("已过期", "Expired")

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="bindings")
    vehicle = models.ForeignKey("registry.Vehicle", on_delete=models.PROTECT, related_name="bindings")
    kind = models.CharField(max_length=6, choices=Kind.choices)
    status = models.CharField(max_length=8, choices=Status.choices, db_index=True)
    requested_at = models.DateTimeField()
    bound_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    # The registry person who owned the vehicle when the binding was asked for (own vehicles: the user's own
    # person). A binding of someone else's vehicle stands only while that owner still owns it: a new owner has
    # not agreed to it (identity.rules.binding_stands).
    owner_person_id = models.BigIntegerField(null=True, blank=True, help_text="owner who authorised it")

    class Meta:
        constraints = [
            # one live (pending or active) binding per user and vehicle
            models.UniqueConstraint(
                fields=["user", "vehicle"],
                condition=models.Q(status__in=["pending", "active"]),
                name="binding_one_live_per_user_vehicle",
            )
        ]


class PhoneOnFileChange(models.Model):
    """联系方式变更 of the phone on file (预留手机号), asked for online by its holder (identity.services.phone_on_file).

    The phone on file decides who may register and see the records (DOMAIN §1), so the change waits out a
    cooling-off period (JIAOGUAN_PHONE_FILE_COOLING_HOURS) before it takes effect: until then the old number stays
    on file, and whoever holds it can stop the change with the objection code sent to it by SMS. Only a keyed
    hash of that code is stored. At most one change per person is cooling at a time."""

    class Status(models.TextChoices):
        COOLING = "cooling", bi("冷静期中，尚未生效", "Cooling off, not yet in effect")
        APPLIED = "applied", bi("已生效", "In effect")
        CANCELLED = "cancelled", bi("本人已撤销", "Withdrawn by the holder")
        OBJECTED = "objected", bi("原手机号已撤销", "Stopped from the old phone")
        LAPSED = "lapsed", bi("未生效（情况已变化）", "Not applied (circumstances changed)")

    person = models.ForeignKey("registry.Person", on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="phone_file_changes")
    old_phone_hash = models.CharField(max_length=64, help_text="the phone on file it replaces: applied only while "
                                                               "that is still the phone on file")
    new_phone = EncryptedField(hash_purpose="phone")
    new_phone_hash = LookupHashField(source="new_phone")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.COOLING)
    objection_hash = models.CharField(max_length=64, unique=True)
    requested_at = models.DateTimeField()
    effective_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name = "预留手机号变更 change of the phone on file"
        verbose_name_plural = "预留手机号变更 changes of the phone on file"
        constraints = [models.UniqueConstraint(fields=["person"], condition=models.Q(status="cooling"),
                                               name="identity_phone_file_one_cooling")]
        indexes = [models.Index(fields=["status", "effective_at"], name="identity_phone_file_due"),
                   models.Index(fields=["person", "status", "ended_at"], name="identity_phone_file_person")]
