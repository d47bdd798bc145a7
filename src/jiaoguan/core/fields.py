"""Model fields for personal data: stored encrypted, with an optional keyed lookup hash kept in step.

    id_number = EncryptedField(hash_field="id_number_hash", normalise=str.upper)
    id_number_hash = LookupHashField(unique=True)

Assigning ``person.id_number = "..."`` also sets ``person.id_number_hash``; query with
``Person.objects.filter(id_number_hash=EncryptedField.hash_of(Person, "id_number", value))`` or the model's own
selector. The hash purpose is ``<app_label>.<model>.<field>`` unless given.
"""
from __future__ import annotations

from collections.abc import Callable

from django.db import models

from jiaoguan.core import crypto


class LookupHashField(models.CharField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault("editable", False)
        kwargs.setdefault("db_index", not kwargs.get("unique", False))
        super().__init__(*args, **kwargs)


class _EncryptedDescriptor:
    def __init__(self, field: "EncryptedField") -> None:
        self.field = field

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        return instance.__dict__.get(self.field.attname)

    def __set__(self, instance, value) -> None:
        f = self.field
        if value is not None and f.normalise is not None and isinstance(value, str):
            value = f.normalise(value)
        instance.__dict__[f.attname] = value
        if f.hash_field:
            instance.__dict__[f.hash_field] = None if value in (None, "") else crypto.lookup_hash(
                value, purpose=f.hash_purpose
            )


class EncryptedField(models.TextField):
    """A text value encrypted at rest with AES-GCM (see core.crypto). Not queryable except through its hash."""

    def __init__(
        self,
        *args,
        hash_field: str | None = None,
        hash_purpose: str | None = None,
        normalise: Callable[[str], str] | None = None,
        **kwargs,
    ) -> None:
        self.hash_field = hash_field
        self._hash_purpose = hash_purpose
        self.normalise = normalise
        super().__init__(*args, **kwargs)

    @property
    def hash_purpose(self) -> str:
        return self._hash_purpose or f"{self.model._meta.label_lower}.{self.name}"

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        if self.hash_field:
            kwargs["hash_field"] = self.hash_field
        if self._hash_purpose:
            kwargs["hash_purpose"] = self._hash_purpose
        return name, path, args, kwargs

    def contribute_to_class(self, cls, name, private_only=False):
        super().contribute_to_class(cls, name, private_only=private_only)
        setattr(cls, self.attname, _EncryptedDescriptor(self))

    def from_db_value(self, value, expression, connection):
        if value is None:
            return None
        return crypto.decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None:
            return None
        return crypto.encrypt(str(value))

    def hash(self, value: str) -> str:
        if self.normalise is not None:
            value = self.normalise(value)
        return crypto.lookup_hash(value, purpose=self.hash_purpose)

    @staticmethod
    def hash_of(model: type[models.Model], field_name: str, value: str) -> str:
        field = model._meta.get_field(field_name)
        assert isinstance(field, EncryptedField)
        return field.hash(value)


def encrypted_fields() -> list[tuple[type[models.Model], EncryptedField]]:
    """Every (model, field) pair that stores encrypted data: what key rotation walks."""
    from django.apps import apps

    return [
        (model, f)
        for model in apps.get_models()
        for f in model._meta.concrete_fields
        if isinstance(f, EncryptedField)
    ]
