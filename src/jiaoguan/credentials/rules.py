"""Pure rules of e-credentials: numbers with a check digit, the canonical signed content, the validity status,
and a last guard that personal identifiers never reach a credential unmasked.

Numbers (电子证照编号): the year of issue, 10 random digits and a Damm check digit — 15 digits, read out over
the phone or typed from a printout. The Damm algorithm catches every single-digit error and every swap of two
neighbouring digits (Luhn misses 09↔90), which are the mistakes people make reading a number aloud.
"""
from __future__ import annotations

import datetime as dt
import json
import re
import secrets
from collections.abc import Iterable, Sequence

from stdnum import damm

from jiaoguan.core.i18n import Bi, bi, zh_en
from jiaoguan.core.masking import mask_id_number, mask_phone

NUMBER_LENGTH = 15
CONTENT_VERSION = 1


def damm_digit(digits: str) -> str:
    """The Damm check digit of a string of digits (python-stdnum's implementation)."""
    return damm.calc_check_digit(digits)


def number_new(year: int) -> str:
    body = f"{year:04d}{secrets.randbelow(10 ** 10):010d}"
    return body + damm_digit(body)


def number_valid(number: str) -> bool:
    """Well formed: 15 ASCII digits whose last is the Damm digit of the others (checked before any database read)."""
    number = number or ""
    return (len(number) == NUMBER_LENGTH and number.isascii() and number.isdigit()
            and damm_digit(number[:-1]) == number[-1])


def number_display(number: str) -> str:
    """2026 1234 5678 90X: groups of four for reading aloud."""
    return " ".join(number[i:i + 4] for i in range(0, len(number), 4))


# --- personal identifiers ---------------------------------------------------------------------------------------

_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
                        r"\d{3}[\dXx](?![0-9A-Za-z])")
_PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")


def mask_personal(value: str) -> str:
    """Mask any full resident ID number (also a driving-licence number) or mobile number left in ``value``: the
    issuer is asked to pass masked values, and this makes sure a mistake never reaches a public page."""
    value = _ID_NUMBER.sub(lambda m: mask_id_number(m.group(0)), value)
    return _PHONE.sub(lambda m: mask_phone(m.group(0)), value)


# --- content ----------------------------------------------------------------------------------------------------

def normalise_fields(fields: Iterable[Sequence]) -> list[dict]:
    """(label_zh, label_en, value[, public]) tuples → the stored form. ``public`` (default True) says whether the
    public verification page shows the field; the holder always sees every field. A value that reads differently
    in the two languages (a choice, a date range) is a core.i18n pair: stored as ``value`` (Chinese) and
    ``value_en``; a value that is the same in both (a plate, a number) is one ``value``."""
    out: list[dict] = []
    for item in fields:
        item = tuple(item)
        if len(item) not in (3, 4):
            raise ValueError("a credential field is (label_zh, label_en, value[, public])")
        raw = item[2]
        zh, en = (str(x if x is not None else "").strip() for x in item[:2])
        value_zh, value_en = (s.strip() for s in zh_en(raw if raw is not None else ""))
        if not zh or not en:
            raise ValueError("a credential field needs a Chinese and an English label")
        public = bool(item[3]) if len(item) == 4 else True
        row = {"zh": zh, "en": en, "value": mask_personal(value_zh), "public": public}
        if value_en != value_zh:
            row["value_en"] = mask_personal(value_en)
        out.append(row)
    return out


def field_value(f: dict) -> Bi | str:
    """A stored field's value for display: a pair when it was stored in both languages."""
    value = mask_personal(str(f.get("value", "")))
    return bi(value, mask_personal(str(f["value_en"]))) if f.get("value_en") else value


def _signed_field(f: dict) -> dict:
    out = {"zh": f["zh"], "en": f["en"], "value": f["value"], "public": bool(f.get("public", True))}
    if f.get("value_en"):  # only when present: credentials issued before bilingual values keep their signature
        out["value_en"] = f["value_en"]
    return out


def _utc(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).isoformat(timespec="seconds")


def canonical_content(*, number: str, kind: str, holder_id: int, holder_display: str, title_zh: str,
                      title_en: str, fields: list[dict], valid_from: dt.date, valid_until: dt.date | None,
                      source_type: str, source_id: str, issued_at: dt.datetime, algorithm: str,
                      key_id: str) -> bytes:
    """The bytes that are signed: sorted-key compact JSON of everything a verifier relies on. The algorithm and
    key id are inside, so neither can be swapped on a stored row without breaking the signature."""
    doc = {
        "v": CONTENT_VERSION, "number": number, "kind": kind, "holder": {"id": holder_id, "display": holder_display},
        "title": {"zh": title_zh, "en": title_en},
        "fields": [_signed_field(f) for f in fields],
        "valid_from": valid_from.isoformat(), "valid_until": valid_until.isoformat() if valid_until else None,
        "source": {"type": source_type, "id": source_id}, "issued_at": _utc(issued_at),
        "alg": algorithm, "kid": key_id,
    }
    return b"jiaoguan-credential\n" + json.dumps(doc, sort_keys=True, separators=(",", ":"),
                                                 ensure_ascii=False).encode()


# --- status -----------------------------------------------------------------------------------------------------

VALID = "valid"
NOT_YET_VALID = "not_yet_valid"
EXPIRED = "expired"
REVOKED = "revoked"
NOT_FOUND = "not_found"
SIGNATURE_MISMATCH = "signature_mismatch"

STATUS_LABELS: dict[str, tuple[str, str]] = {
    VALID: ("真实有效", "Genuine and valid"),
    NOT_YET_VALID: ("真实，尚未生效", "Genuine, not yet in force"),
    EXPIRED: ("真实，已过有效期", "Genuine, expired"),
    REVOKED: ("已被注销", "Revoked"),
    NOT_FOUND: ("未找到该电子证照", "No such e-credential"),
    SIGNATURE_MISMATCH: ("签名校验失败，内容可能被篡改", "Signature check failed: the content may have been altered"),
}


def date_status(*, valid_from: dt.date, valid_until: dt.date | None, on: dt.date) -> str:
    """Valid on ``on`` (both ends inclusive); ``valid_until`` None = no end date."""
    if on < valid_from:
        return NOT_YET_VALID
    if valid_until is not None and on > valid_until:
        return EXPIRED
    return VALID

