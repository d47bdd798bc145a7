"""The shared kernel's tables: audit log, working-day overrides, idempotency keys, outbox events, cache."""
from __future__ import annotations

from typing import Any

from django.db import models

from jiaoguan.core.i18n import bi


class AuditEntry(models.Model):
    """One append-only row: a state change of a record that matters, or a staff look at a citizen's data
    (kind=access). ``digest`` = SHA-256 over the row's content, computed when it is written; the sealer
    (``core.audit.audit_seal``) later gives it its place in the log (``AuditSeal``). Rows written before the log
    became a sealed Merkle tree (issue 12) keep their old chain in ``prev_hash``/``hash`` (and digest = hash)."""

    class Kind(models.TextChoices):
        CHANGE = "change", bi("变更", "Change")
        ACCESS = "access", bi("查阅", "Access")

    id = models.BigAutoField(primary_key=True)
    at = models.DateTimeField(db_index=True)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.CHANGE)
    actor_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    actor_label = models.CharField(max_length=150, blank=True)
    actor_role = models.CharField(max_length=30, blank=True)
    action = models.CharField(max_length=80)  # read with its object: the (object_type, object_id) index
    object_type = models.CharField(max_length=80)
    object_id = models.CharField(max_length=64)
    subject_person_id = models.BigIntegerField(null=True, blank=True, db_index=True)  # whose data this concerns
    old = models.JSONField(null=True, blank=True)
    new = models.JSONField(null=True, blank=True)
    reason = models.CharField(max_length=500, blank=True)
    ip = models.CharField(max_length=45, blank=True)
    digest = models.CharField(max_length=64, blank=True, default="")
    prev_hash = models.CharField(max_length=64, blank=True, default="")  # the pre-issue-12 chain only
    hash = models.CharField(max_length=64, null=True, blank=True)  # the pre-issue-12 chain only

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]
        verbose_name = "审计记录 audit entry"
        verbose_name_plural = "审计记录 audit entries"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise RuntimeError("audit entries are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise RuntimeError("audit entries are append-only")


class AuditPending(models.Model):
    """An entry not sealed yet. A database trigger adds the row in the writer's own transaction (so no path that
    inserts an entry can skip sealing); the sealer deletes it in the transaction that seals the entry."""

    entry_id = models.BigIntegerField(primary_key=True)


class AuditSeal(models.Model):
    """An entry's place in the log (append-only): ``seq`` counts from 1 in the order the sealer sealed the entries;
    ``leaf_hash`` = RFC 9162 leaf hash of "<entry id>:<digest>"; ``chain_hash`` = SHA-256(previous chain hash ||
    leaf hash). ``entry_id`` is unique: an entry is sealed exactly once."""

    seq = models.BigIntegerField(primary_key=True)
    entry_id = models.BigIntegerField(unique=True)
    leaf_hash = models.CharField(max_length=64)
    chain_hash = models.CharField(max_length=64)
    sealed_at = models.DateTimeField()


class AuditNode(models.Model):
    """The root of a complete subtree of the log's Merkle tree (level >= 1, width 2**level, first leaf
    index << level), kept so proofs need no walk over the log (append-only)."""

    id = models.BigAutoField(primary_key=True)
    level = models.PositiveSmallIntegerField()
    index = models.BigIntegerField()
    hash = models.CharField(max_length=64)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["level", "index"], name="core_auditnode_level_index")]


class AuditTreeHead(models.Model):
    """A signed tree head (RFC 9162 §4.10 in spirit): the log's size, Merkle root and chain hash at a time, signed
    with the audit key (Ed25519). Exported by ``manage.py audit_heads`` so an outsider can later prove that history
    was not rewritten (append-only)."""

    tree_size = models.BigIntegerField(primary_key=True)
    timestamp = models.DateTimeField()
    root_hash = models.CharField(max_length=64)
    chain_hash = models.CharField(max_length=64)
    algorithm = models.CharField(max_length=20)
    key_id = models.CharField(max_length=40)
    signature = models.CharField(max_length=200)


class AuditSealer(models.Model):
    """The sealer's state (one row): the log's size, chain hash and Merkle frontier after the last seal."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    tree_size = models.BigIntegerField(default=0)
    chain_hash = models.CharField(max_length=64, default="0" * 64)
    frontier = models.JSONField(default=list)  # [[level, hex hash], ...] left to right
    last_sealed_at = models.DateTimeField(null=True, blank=True)
    last_head_size = models.BigIntegerField(default=0)
    last_head_at = models.DateTimeField(null=True, blank=True)


class HolidayOverride(models.Model):
    """A day that differs from the calendar data: a holiday (day off) or a make-up working day (调休上班).

    Staff edit these for years the chinese-calendar data does not cover yet (it ends with 2026), or to record
    a local decision. An override always wins over the library and over the weekend rule."""

    date = models.DateField(unique=True)
    is_workday = models.BooleanField(help_text="True: a make-up working day; False: a day off")
    name = models.CharField(max_length=60, blank=True)

    class Meta:
        ordering = ["date"]
        verbose_name = "节假日调整 holiday override"
        verbose_name_plural = "节假日调整 holiday overrides"

    def __str__(self) -> str:
        return f"{self.date} {'班' if self.is_workday else '休'} {self.name}"


class IdempotencyKey(models.Model):
    """The first result of a POST that moves money, points, seats or a plate, replayed for a repeated key."""

    scope = models.CharField(max_length=120)
    key = models.CharField(max_length=120)
    fingerprint = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True)
    response = models.JSONField(null=True)
    created_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["scope", "key"], name="idempotency_scope_key")]


class OutboxEvent(models.Model):
    """An event written in the same transaction as the change that caused it, one row per handler, delivered
    by a Celery task after commit and re-dispatched by a periodic sweep until it succeeds or ends as failed."""

    class Status(models.TextChoices):
        PENDING = "pending", bi("待投递", "Pending")
        DELIVERED = "delivered", bi("已投递", "Delivered")
        FAILED = "failed", bi("失败", "Failed")

    topic = models.CharField(max_length=80, db_index=True)
    handler = models.CharField(max_length=200)
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField()
    next_attempt_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "next_attempt_at"])]


class SignedRequestNonce(models.Model):
    """A nonce a signed request used (core.signing), so a replay is refused. One table for every scheme
    (partners, …), unique per scheme and key id. Rows older than twice the scheme's freshness window can be
    purged: a request that old is refused as stale anyway."""

    scheme = models.CharField(max_length=40)
    key_id = models.CharField(max_length=64)
    value = models.CharField(max_length=64)
    seen_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["scheme", "key_id", "value"], name="signed_nonce_unique")]


class CacheEntry(models.Model):
    """The embedded default's cache (core.cache.DatabaseCache; Redis replaces it when REDIS_URL is set): rate-limit
    windows and login-failure counters shared by every web process. The columns are those of Django's
    ``createcachetable`` (``value`` is a base64 pickle), so Django's DatabaseCache reads and writes the same rows;
    as a model, ``migrate`` creates the table and a test database's flush empties it."""

    cache_key = models.CharField(max_length=255, primary_key=True)
    value = models.TextField()
    expires = models.DateTimeField(db_index=True)

    class Meta:
        db_table = "jiaoguan_cache"
        verbose_name = "缓存条目 cache entry"
        verbose_name_plural = "缓存条目 cache entries"
