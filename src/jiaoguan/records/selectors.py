"""Reads of the read model: one account's part in one language, with one indexed, hand-written statement
(core.rows) — the body stays encrypted until it is needed, so a repeat read that ends in a 304 decrypts nothing."""
from __future__ import annotations

import functools
from dataclasses import dataclass

from django.db import connection

from jiaoguan.core import clock, crypto, rows
from jiaoguan.core.i18n import is_english
from jiaoguan.records import parts, services
from jiaoguan.records.models import RecordPart


def language_key(language: str | None) -> str:
    """The read model's language for a request's language: English, or Chinese for anything else."""
    return "en" if is_english(language) else "zh-hans"


@dataclass(frozen=True)
class PartRead:
    etag: str
    _body: str  # as stored: ciphertext when read from the table, plain text when just built
    _plain: bool = False

    def body(self) -> str:
        return self._body if self._plain else crypto.decrypt(self._body)


@functools.cache
def _sql() -> str:
    qn = connection.ops.quote_name
    return (f"SELECT {qn('etag')}, {qn('body')}, {qn('stale_at')} FROM {qn(RecordPart._meta.db_table)} "
            f"WHERE {qn('user_id')} = %s AND {qn('part')} = %s AND {qn('language')} = %s")


def part_for(*, user_id: int, part: str, language: str | None) -> PartRead:
    """The account's ``part`` in ``language`` (see language_key). Built now when it has never been read, or when
    the date has moved past a value in it (``stale_at``); otherwise as the last change left it."""
    if part not in parts.part_names():
        raise ValueError(f"unknown records part {part!r}")
    lang = language_key(language)
    found = rows.fetchone(_sql(), [user_id, part, lang])
    if found is not None:
        stale_at = rows.convert(RecordPart, "stale_at", found[2])
        if stale_at is None or stale_at > clock.now():
            return PartRead(etag=found[0], _body=found[1])
    built = services.records_build(user_id=user_id).get((part, lang))
    if built is None:  # the account went away between the request's authentication and now
        return PartRead(etag="", _body="null", _plain=True)
    return PartRead(etag=built.etag, _body=built.body or "", _plain=True)

