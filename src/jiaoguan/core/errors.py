"""Domain errors: a stable code, a Chinese and an English message, an HTTP status, optionally a field.

Services raise them; the API (core.api_errors) and the pages (core.middleware) map them to responses in one
place. The code is part of the public contract (clients switch on it); messages may be reworded.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jiaoguan.core.i18n import is_english


class DomainError(Exception):
    status = 400

    def __init__(
        self,
        code: str,
        zh: str,
        en: str,
        *,
        status: int | None = None,
        field: str | None = None,
        fields: dict[str, tuple[str, str]] | None = None,
    ) -> None:
        super().__init__(f"{code}: {en}")
        self.code = code
        self.zh = zh
        self.en = en
        if status is not None:
            self.status = status
        self.field = field
        # field -> (zh, en) for errors that concern several fields at once
        self.fields = dict(fields or {})
        if field and field not in self.fields:
            self.fields[field] = (zh, en)

    def message(self, language: str | None = None) -> str:
        return self.en if is_english(language) else self.zh

    def field_messages(self, language: str | None = None) -> dict[str, str]:
        english = is_english(language)
        return {f: (en if english else zh) for f, (zh, en) in self.fields.items()}

    def as_dict(self, language: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message(language)}
        if self.fields:
            body["fields"] = self.field_messages(language)
        return body


class InvalidInput(DomainError):
    status = 422


class NotFound(DomainError):
    status = 404


class Forbidden(DomainError):
    status = 403


class Unauthenticated(DomainError):
    status = 401


class Conflict(DomainError):
    status = 409


class RateLimited(DomainError):
    status = 429


class Locked(DomainError):
    status = 423


class Unavailable(DomainError):
    """A service this action depends on is down for now (the cache behind rate limits): retry later."""

    status = 503


def not_found(what_zh: str = "记录", what_en: str = "record") -> NotFound:
    # A single message for "does not exist" and "not yours", so IDs cannot be probed.
    return NotFound("core.not_found", f"{what_zh}不存在", f"The {what_en} does not exist")


def forbidden() -> Forbidden:
    return Forbidden("core.forbidden", "您无权进行此操作", "You are not allowed to do this")


@dataclass(frozen=True)
class Refusal:
    """One reason a rule says no (an action not offered, a submission refused): a stable code and zh/en text.
    Rules return lists of them; services raise the first as an error; pages show them all."""

    code: str
    zh: str
    en: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "zh": self.zh, "en": self.en}

    def message(self, language: str | None = None) -> str:
        return self.en if is_english(language) else self.zh
