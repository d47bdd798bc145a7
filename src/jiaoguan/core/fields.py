"""Model fields for personal data: stored encrypted, with an optional keyed lookup hash kept in step.

    id_number = EncryptedField(normalise=str.upper)
    id_number_hash = LookupHashField(source="id_number", unique=True)

The hash is computed when the row is saved; query with
``Person.objects.filter(id_number_hash=EncryptedField.hash_of(Person, "id_number", value))`` or the owning app's
selector. The hash purpose is ``<app_label>.<model>.<field>`` unless given.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.apps import apps
from django.core.exceptions import FieldError
from django.db import models
from django.db.models.lookups import Exact

from jiaoguan.core import crypto


class _OnlyNoneExact(Exact):
    """``filter(phone=None)`` still works (Django turns it into ``isnull``); comparing with a value cannot, since
    every encryption of it is different: refuse loudly instead of silently matching nothing."""

    def __init__(self, lhs: Any, rhs: Any) -> None:
        if rhs is not None:
            field = getattr(lhs, "target", None) or getattr(lhs, "output_field", None)
            name = getattr(field, "name", "an encrypted field")
            raise FieldError(
                f"{name} is encrypted and cannot be compared in a query: filter on its LookupHashField "
                f"(EncryptedField.hash_of(Model, {name!r}, value)) instead"
            )
        super().__init__(lhs, rhs)


class LookupHashField(models.CharField[str | None, str | None]):
    """The keyed hash of another (encrypted) field of the same model, recomputed on every save and insert
    (bulk_create included; ``QuerySet.update``/``bulk_update`` of the source field must pass the hash too)."""

    def __init__(self, *args: Any, source: str, **kwargs: Any) -> None:
        self.source = source
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault("editable", False)
        kwargs.setdefault("db_index", not kwargs.get("unique", False))
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        kwargs["source"] = self.source
        return name, path, args, kwargs

    def pre_save(self, model_instance: models.Model, add: bool) -> str | None:
        source = model_instance._meta.get_field(self.source)
        assert isinstance(source, EncryptedField), f"{self.source} is not an EncryptedField"
        value = getattr(model_instance, source.attname)
        hashed = None if value in (None, "") else source.hash(value)
        setattr(model_instance, self.attname, hashed)
        return hashed


class EncryptedField(models.TextField[str | None, str | None]):
    """A text value encrypted at rest with AES-GCM (see core.crypto). Not queryable except through a
    LookupHashField that names it as its source."""

    def __init__(self, *args: Any, hash_purpose: str | None = None, normalise: Callable[[str], str] | None = None,
                 **kwargs: Any) -> None:
        self._hash_purpose = hash_purpose
        self.normalise = normalise
        super().__init__(*args, **kwargs)

    @property
    def hash_purpose(self) -> str:
        return self._hash_purpose or f"{self.model._meta.label_lower}.{self.name}"

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        if self._hash_purpose:
            kwargs["hash_purpose"] = self._hash_purpose
        return name, path, args, kwargs

    def get_lookup(self, lookup_name: str) -> Any:
        # Only "is null" and "= None" make sense on ciphertext; anything else raises FieldError when built.
        if lookup_name == "exact":
            return _OnlyNoneExact
        if lookup_name == "isnull":
            return super().get_lookup(lookup_name)
        return None

    def get_transform(self, lookup_name: str) -> None:
        return None

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        if value is None:
            return None
        return crypto.decrypt(value)

    def get_prep_value(self, value: Any) -> str | None:
        value = super().get_prep_value(value)
        if value is None:
            return None
        return crypto.encrypt(str(value))

    def hash(self, value: str) -> str:
        value = str(value)
        if self.normalise is not None:
            value = self.normalise(value)
        return crypto.lookup_hash(value, purpose=self.hash_purpose)

    @staticmethod
    def hash_of(model: type[models.Model], field_name: str, value: str) -> str:
        """The lookup hash a query needs: ``filter(id_number_hash=EncryptedField.hash_of(Person, "id_number", x))``."""
        field = model._meta.get_field(field_name)
        assert isinstance(field, EncryptedField)
        return field.hash(value)


def encrypted_fields() -> list[tuple[type[models.Model], EncryptedField]]:
    """Every (model, field) pair that stores encrypted data: what key rotation walks."""
    return [
        (model, f)
        for model in apps.get_models()
        for f in model._meta.concrete_fields
        if isinstance(f, EncryptedField)
    ]
