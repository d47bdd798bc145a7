"""Encrypted personal fields with a keyed lookup hash, and key rotation (ARCHITECTURE §4)."""
from __future__ import annotations

import base64
import datetime as dt
import io
import os

import pytest
from django.core.exceptions import FieldError, ImproperlyConfigured
from django.core.management import call_command
from django.test import override_settings
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from jiaoguan.core import crypto
from jiaoguan.core.fields import EncryptedField, encrypted_fields
from jiaoguan.core.identifiers import make_id_number
from jiaoguan.core.keys import load_keys, parse_field_keys
from jiaoguan.registry.models import Person
from tests.core.helpers import raw_columns, raw_execute
from tests.factories import make_person, unique_id_number

K1 = ("k1", os.urandom(32))
K2 = ("k2", os.urandom(32))
PERSONAL = ("name", "id_number", "phone", "address")


def kid(token: str) -> str | None:
    return crypto.key_id_of(token)


# --- crypto ---------------------------------------------------------------------------------------------------

@hsettings(max_examples=50)
@given(st.text(max_size=200))
def test_encrypt_decrypt_round_trip(text):
    token = crypto.encrypt(text)
    assert token.startswith(f"enc1:{crypto.active_key_id()}:")
    assert crypto.decrypt(token) == text
    if len(text) >= 8:
        assert text not in token


def test_each_encryption_is_different_but_the_lookup_hash_is_stable():
    a, b = crypto.encrypt("13800138000"), crypto.encrypt("13800138000")
    assert a != b and crypto.decrypt(a) == crypto.decrypt(b)
    assert crypto.lookup_hash("13800138000", purpose="phone") == crypto.lookup_hash("13800138000", purpose="phone")
    # purposes keep domains apart; the key makes it unguessable without the secret
    assert crypto.lookup_hash("13800138000", purpose="phone") != crypto.lookup_hash("13800138000", purpose="id_number")
    before = crypto.lookup_hash("13800138000", purpose="phone")
    with override_settings(JIAOGUAN_HASH_KEY=os.urandom(32)):
        assert crypto.lookup_hash("13800138000", purpose="phone") != before


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-4] + ("AAAA" if t[-4:] != "AAAA" else "BBBB"),  # changed tag
        lambda t: t.rsplit(":", 1)[0] + ":" + base64.b64encode(
            bytes([base64.b64decode(t.rsplit(":", 1)[1])[0] ^ 1]) + base64.b64decode(t.rsplit(":", 1)[1])[1:]
        ).decode(),  # flipped nonce bit
        lambda t: t.replace(":", ":x", 1),  # unknown key id
        lambda t: t.rsplit(":", 1)[0] + ":!!notbase64!!",
        lambda t: t.rsplit(":", 1)[0] + ":" + base64.b64encode(b"short").decode(),
        lambda t: "enc9" + t[4:],
        lambda t: "plaintext",
        lambda t: "",
    ],
)
def test_tampered_ciphertext_is_refused(mangle):
    token = crypto.encrypt("张三")
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(mangle(token))


def test_the_wrong_key_cannot_decrypt():
    with override_settings(JIAOGUAN_FIELD_KEYS=[K1]):
        token = crypto.encrypt("secret")
    with override_settings(JIAOGUAN_FIELD_KEYS=[("k1", K2[1])]):  # same id, other key
        with pytest.raises(crypto.DecryptionError):
            crypto.decrypt(token)


# --- fields on a real model -----------------------------------------------------------------------------------

@pytest.mark.django_db
def test_personal_fields_are_ciphertext_in_the_database():
    number = unique_id_number()
    person = make_person(name="李小龙", id_number=number, phone="13800138000", address="深圳市南山区科技园")
    stored = dict(zip(PERSONAL, raw_columns(Person, person.pk, *PERSONAL)))
    for column, plain in zip(PERSONAL, ("李小龙", number, "13800138000", "深圳市南山区科技园")):
        assert stored[column].startswith("enc1:"), column
        assert plain not in stored[column]
        assert crypto.decrypt(stored[column]) == plain
    again = Person.objects.get(pk=person.pk)
    assert (again.name, again.id_number, again.phone, again.address) == ("李小龙", number, "13800138000",
                                                                        "深圳市南山区科技园")
    # the hash column is a keyed hash, not the number
    (hash_value,) = raw_columns(Person, person.pk, "id_number_hash")
    assert len(hash_value) == 64 and number not in hash_value


@pytest.mark.django_db
def test_lookup_by_hash_finds_the_row_and_normalises():
    number_x = next(n for n in (make_id_number("440305", dt.date(1988, 8, 8), s) for s in range(999))
                    if n.endswith("X"))
    person = make_person(id_number=number_x, phone="13900001111")
    make_person()  # someone else
    h = EncryptedField.hash_of(Person, "id_number", number_x.lower())  # normalise=upper
    assert Person.objects.get(id_number_hash=h).pk == person.pk
    assert Person.objects.get(phone_hash=EncryptedField.hash_of(Person, "phone", "13900001111")).pk == person.pk
    # registry pins the purpose "id_number", so a plain crypto.lookup_hash finds it too
    assert Person.objects.filter(id_number_hash=crypto.lookup_hash(number_x, purpose="id_number")).count() == 1
    assert not Person.objects.filter(phone_hash=EncryptedField.hash_of(Person, "phone", "13900001112")).exists()


@pytest.mark.django_db
def test_hash_follows_changes_and_nulls():
    person = make_person(phone="13900002222")
    person.phone = "13900003333"
    person.save()
    assert Person.objects.filter(phone_hash=EncryptedField.hash_of(Person, "phone", "13900003333")).exists()
    assert not Person.objects.filter(phone_hash=EncryptedField.hash_of(Person, "phone", "13900002222")).exists()
    person.phone = None
    person.save()
    assert raw_columns(Person, person.pk, "phone", "phone_hash") == (None, None)
    assert Person.objects.get(pk=person.pk).phone is None


@pytest.mark.django_db
def test_bulk_create_encrypts_and_hashes():
    from jiaoguan.core import clock

    now = clock.now()
    numbers = [unique_id_number() for _ in range(3)]
    Person.objects.bulk_create([
        Person(name=f"人{i}", id_number=n, phone=None, gender="M", birth_date="1990-01-01", created_at=now,
               updated_at=now)
        for i, n in enumerate(numbers)
    ])
    for n in numbers:
        p = Person.objects.get(id_number_hash=EncryptedField.hash_of(Person, "id_number", n))
        assert raw_columns(Person, p.pk, "id_number")[0].startswith("enc1:")


@pytest.mark.django_db
def test_querying_an_encrypted_field_by_value_is_refused_loudly():
    make_person(name="王五", phone=None)
    with pytest.raises(FieldError, match="LookupHashField"):
        Person.objects.filter(name="王五").count()
    with pytest.raises(FieldError):
        Person.objects.filter(name__icontains="王").count()
    with pytest.raises(FieldError):
        Person.objects.filter(phone__in=["13800138000"]).count()
    # "is null" still works, spelled either way
    assert Person.objects.filter(phone=None).count() == 1
    assert Person.objects.filter(phone__isnull=True).count() == 1


@pytest.mark.django_db
def test_tampered_ciphertext_in_the_database_is_refused():
    person = make_person(name="赵六")
    (token,) = raw_columns(Person, person.pk, "name")
    payload = bytearray(base64.b64decode(token.rsplit(":", 1)[1]))
    payload[14] ^= 0x01
    forged = token.rsplit(":", 1)[0] + ":" + base64.b64encode(bytes(payload)).decode()
    raw_execute("UPDATE registry_person SET name = %s WHERE id = %s", [forged, person.pk])
    with pytest.raises(crypto.DecryptionError):
        Person.objects.get(pk=person.pk)


def test_encrypted_fields_lists_every_personal_column():
    found = {(m._meta.label, f.name) for m, f in encrypted_fields()}
    assert {("registry.Person", c) for c in PERSONAL} <= found


# --- key rotation ---------------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_key_rotation_keeps_old_rows_readable_and_findable():
    with override_settings(JIAOGUAN_FIELD_KEYS=[K1]):
        people = [make_person(name=f"旧{i}", phone=f"1370000000{i}") for i in range(3)]
        numbers = {p.pk: p.id_number for p in people}
        for p in people:
            assert {kid(t) for t in raw_columns(Person, p.pk, *PERSONAL)} == {"k1"}

    # k2 becomes active; k1 is kept for reading
    with override_settings(JIAOGUAN_FIELD_KEYS=[K2, K1]):
        for p in people:
            fresh = Person.objects.get(id_number_hash=EncryptedField.hash_of(Person, "id_number", numbers[p.pk]))
            assert fresh.pk == p.pk and fresh.name == p.name and fresh.phone == p.phone
        newcomer = make_person(name="新人")
        assert {kid(t) for t in raw_columns(Person, newcomer.pk, *PERSONAL)} == {"k2"}
        hashes_before = {p.pk: raw_columns(Person, p.pk, "id_number_hash", "phone_hash", "name_hash") for p in people}

        call_command("rotate_field_keys", batch=2, stdout=io.StringIO())

        for p in people:
            assert {kid(t) for t in raw_columns(Person, p.pk, *PERSONAL)} == {"k2"}
            # rotation does not touch the lookup hashes
            assert raw_columns(Person, p.pk, "id_number_hash", "phone_hash", "name_hash") == hashes_before[p.pk]

    # k1 dropped: everything still reads and is found
    with override_settings(JIAOGUAN_FIELD_KEYS=[K2]):
        for p in people:
            fresh = Person.objects.get(id_number_hash=EncryptedField.hash_of(Person, "id_number", numbers[p.pk]))
            assert (fresh.name, fresh.phone, fresh.address) == (p.name, p.phone, p.address)
        assert Person.objects.get(pk=newcomer.pk).name == "新人"

    # and k1 alone can no longer read them: the old key really is retired
    with override_settings(JIAOGUAN_FIELD_KEYS=[K1]):
        with pytest.raises(crypto.DecryptionError):
            Person.objects.get(pk=people[0].pk)


@pytest.mark.django_db
def test_rotation_is_idempotent_and_reports_counts():
    with override_settings(JIAOGUAN_FIELD_KEYS=[K1]):
        make_person(phone=None)
    with override_settings(JIAOGUAN_FIELD_KEYS=[K2, K1]):
        out = io.StringIO()
        call_command("rotate_field_keys", stdout=out)
        assert "re-encrypted 3 values under key k2" in out.getvalue()  # name, id_number, address; phone is null
        out = io.StringIO()
        call_command("rotate_field_keys", stdout=out)
        assert "re-encrypted 0 values" in out.getvalue()


# --- keys from the environment --------------------------------------------------------------------------------

def b64(n: int = 32) -> str:
    return base64.b64encode(os.urandom(n)).decode()


def test_parse_field_keys():
    keys = parse_field_keys(f"new:{b64()}, old:{b64()}")
    assert [k for k, _ in keys] == ["new", "old"] and all(len(v) == 32 for _, v in keys)
    for bad in ("", "nokey", f":{b64()}", f"a:{b64(16)}", "a:!!!notbase64", f"a:{b64()},a:{b64()}"):
        with pytest.raises(ImproperlyConfigured):
            parse_field_keys(bad)


def test_production_refuses_to_start_without_secrets(tmp_path, monkeypatch):
    for name in ("JIAOGUAN_SECRET_KEY", "JIAOGUAN_FIELD_KEYS", "JIAOGUAN_HASH_KEY"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ImproperlyConfigured, match="JIAOGUAN_FIELD_KEYS"):
        load_keys(production=True, var_dir=tmp_path)
    assert not (tmp_path / "dev-keys.json").exists()


def test_development_generates_keys_once(tmp_path, monkeypatch):
    for name in ("JIAOGUAN_SECRET_KEY", "JIAOGUAN_FIELD_KEYS", "JIAOGUAN_HASH_KEY"):
        monkeypatch.delenv(name, raising=False)
    first = load_keys(production=False, var_dir=tmp_path)
    second = load_keys(production=False, var_dir=tmp_path)
    assert first == second and len(first.field_keys[0][1]) == 32
    assert oct((tmp_path / "dev-keys.json").stat().st_mode & 0o777) == "0o600"


def test_environment_keys_win_and_bad_hash_key_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("JIAOGUAN_SECRET_KEY", "production-" + "".join(chr(0x41 + i) for i in range(50)))
    monkeypatch.setenv("JIAOGUAN_FIELD_KEYS", f"prod1:{b64()}")
    monkeypatch.setenv("JIAOGUAN_HASH_KEY", b64())
    keys = load_keys(production=True, var_dir=tmp_path)
    assert keys.field_keys[0][0] == "prod1"
    monkeypatch.setenv("JIAOGUAN_HASH_KEY", b64(16))
    with pytest.raises(ImproperlyConfigured):
        load_keys(production=True, var_dir=tmp_path)
    monkeypatch.setenv("JIAOGUAN_HASH_KEY", "%%%")
    with pytest.raises(ImproperlyConfigured):
        load_keys(production=True, var_dir=tmp_path)


def test_key_strength_refuses_typed_keys_and_never_a_random_one():
    """Production's minimum strength (core.keys): Django's W009 rule for the secret key; 16 different byte values
    for a binary key, which a random 32-byte key (about 30 different values) always has in practice."""
    import secrets

    from jiaoguan.core.keys import binary_key_problem, secret_key_problem

    assert all(binary_key_problem(os.urandom(32), what="k") is None for _ in range(20_000))
    assert all(secret_key_problem(secrets.token_urlsafe(50)) is None for _ in range(2_000))
    for weak in (bytes(32), b"A" * 32, b"0123456789abcd" * 2 + b"0123"):
        assert "weak" in binary_key_problem(weak, what="JIAOGUAN_HASH_KEY")
    for weak in ("x", "x" * 80, "abcd" * 20, "django-insecure-" + secrets.token_urlsafe(50), secrets.token_urlsafe(30)):
        assert "JIAOGUAN_SECRET_KEY is weak" in secret_key_problem(weak)
