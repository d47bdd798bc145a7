"""Real-name registration: the happy path and every refusal, with nothing half-written."""
import datetime as dt

import pytest
from django.contrib.auth.hashers import identify_hasher
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from jiaoguan.core.errors import Conflict, InvalidInput
from jiaoguan.core.identifiers import make_id_number
from jiaoguan.core.models import AuditEntry
from jiaoguan.identity import services
from jiaoguan.identity.models import SmsCode, User, VehicleBinding
from jiaoguan.notifications.models import Message
from tests.factories import make_person, make_vehicle, unique_phone
from tests.identity.helpers import PASSWORD, code_for, fresh_ip, holder, later, register

pytestmark = pytest.mark.django_db


def _state():
    return (User.objects.count(), VehicleBinding.objects.count(), AuditEntry.objects.filter(
        action="account.register").count(), Message.objects.filter(template_code="account.welcome").count())


def _attempt(person, *, phone=None, name=None, id_number=None, password=PASSWORD, code=None):
    phone = phone or person.phone
    code = code or code_for(phone)
    return services.citizen_register(phone=phone, code=code, name=name if name is not None else person.name,
                                     id_number=id_number or person.id_number, password=password, ip=fresh_ip())


def test_happy_path():
    person = holder(vehicles=2)
    user = register(person)
    user.refresh_from_db()
    assert user.role == "citizen" and user.person_id == person.pk and user.phone == person.phone
    assert user.real_name_verified_at is not None and user.is_active
    assert user.check_password(PASSWORD)
    assert user.username.startswith("c") and person.phone not in user.username
    # both own vehicles bound at once
    own = VehicleBinding.objects.filter(user=user, kind="own", status="active")
    assert own.count() == 2 and all(b.bound_at for b in own)
    # welcome message in the inbox
    welcome = Message.objects.get(recipient=user, template_code="account.welcome")
    assert welcome.channel == "inbox"
    # audited, with the phone masked
    entry = AuditEntry.objects.get(action="account.register")
    assert entry.subject_person_id == person.pk and entry.object_id == str(user.pk)
    assert person.phone not in str(entry.new) and entry.new["phone"].startswith(person.phone[:3])
    # the code is used up
    assert SmsCode.objects.get().used_at is not None


def test_password_is_hashed_with_argon2_by_default(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
    user = register(holder())
    assert identify_hasher(User.objects.get(pk=user.pk).password).algorithm == "argon2"


def test_person_without_phone_on_file_licence_or_vehicle_may_use_any_phone():
    person = make_person(name="李四", phone=None)
    other_phone = unique_phone()
    user = _attempt(person, phone=other_phone)
    assert user.phone == other_phone and not VehicleBinding.objects.filter(user=user).exists()


def test_a_phone_on_file_must_be_used_even_without_licence_or_vehicle():
    """Knowing a non-holder's name and ID number is not enough to register them with one's own phone."""
    person = make_person(name="李四")  # a phone on file, no licence, no vehicle
    before = _state()
    with pytest.raises(InvalidInput) as exc:
        _attempt(person, phone=unique_phone())
    err = exc.value
    assert err.code == "identity.phone_mismatch" and "phone" in err.fields
    assert "车管所窗口" in err.zh and "window" in err.en
    assert _state() == before
    # with the phone on file (in another spelling) it works
    later()
    p = person.phone
    assert _attempt(person, phone=f"+86 {p[:3]} {p[3:7]} {p[7:]}").person_id == person.pk


def test_holder_must_use_the_phone_on_file():
    person = holder()
    before = _state()
    with pytest.raises(InvalidInput) as exc:
        _attempt(person, phone=unique_phone())
    err = exc.value
    assert err.code == "identity.phone_mismatch" and err.status == 422 and "phone" in err.fields
    assert "车管所窗口" in err.zh and "window" in err.en
    assert _state() == before


def test_licence_holder_without_vehicle_also_needs_the_phone_on_file():
    from tests.factories import make_licence

    person = make_person()
    make_licence(person=person)
    with pytest.raises(InvalidInput) as exc:
        _attempt(person, phone=unique_phone())
    assert exc.value.code == "identity.phone_mismatch"


def test_owner_without_licence_also_needs_the_phone_on_file():
    person = make_person()
    make_vehicle(owner=person)
    with pytest.raises(InvalidInput) as exc:
        _attempt(person, phone=unique_phone())
    assert exc.value.code == "identity.phone_mismatch"


def test_holder_with_no_phone_on_file_is_sent_to_a_window():
    person = holder(phone=None)
    with pytest.raises(InvalidInput) as exc:
        _attempt(person, phone=unique_phone())
    assert exc.value.code == "identity.phone_mismatch"


def test_person_not_in_the_registry_cannot_register():
    id_number = make_id_number("440305", dt.date(1991, 5, 6), 123)
    before = _state()
    with pytest.raises(InvalidInput) as exc:
        services.citizen_register(phone=(p := unique_phone()), code=code_for(p), name="王五", id_number=id_number,
                                  password=PASSWORD, ip=fresh_ip())
    err = exc.value
    assert err.code == "identity.real_name_mismatch" and {"name", "id_number"} <= set(err.fields)
    assert "车管所窗口" in err.zh
    assert _state() == before


def test_name_must_match_the_id_number():
    person = holder(name="张三丰")
    with pytest.raises(InvalidInput) as exc:
        _attempt(person, name="张三")
    assert exc.value.code == "identity.real_name_mismatch"
    assert not User.objects.exists()


def test_name_spacing_and_middle_dot_do_not_matter():
    person = make_person(name="阿卜杜·热合曼")
    assert _attempt(person, name=" 阿卜杜 热合曼 ").pk


def test_real_name_failures_use_up_the_code(settings):
    """One code cannot be used to try many names for an ID number."""
    person = holder(name="张三丰")
    code = code_for(person.phone)
    for guess in ["张三", "张四", "张五", "张六", "张七"][: settings.JIAOGUAN_OTP_MAX_ATTEMPTS]:
        with pytest.raises(InvalidInput):
            _attempt(person, name=guess, code=code)
    with pytest.raises(InvalidInput) as exc:
        _attempt(person, code=code)
    assert exc.value.code == "identity.code_invalid"


def test_same_person_twice_is_a_conflict_on_id_number():
    person = make_person(phone=None)
    register(person, phone=unique_phone())
    before = _state()
    with pytest.raises(Conflict) as exc:
        _attempt(person, phone=unique_phone())
    assert exc.value.status == 409 and exc.value.code == "identity.person_registered"
    assert "id_number" in exc.value.fields
    assert _state() == before


def test_same_phone_twice_is_a_conflict_on_phone():
    phone = unique_phone()
    register(make_person(phone=None), phone=phone)
    later()
    before = _state()
    with pytest.raises(Conflict) as exc:
        _attempt(make_person(phone=None), phone=phone)
    assert exc.value.code == "identity.phone_registered" and "phone" in exc.value.fields
    assert _state() == before


def test_repeat_registration_with_the_same_code_fails():
    person = holder()
    code = code_for(person.phone)
    _attempt(person, code=code)
    with pytest.raises((InvalidInput, Conflict)):
        _attempt(person, code=code)
    assert User.objects.count() == 1


@pytest.mark.parametrize("password,fragment", [
    ("short1", "8"), ("12345678901", "numeric"), ("password123", "common"), ("", ""), ("x" * 129, "128"),
])
def test_weak_passwords_are_refused_in_both_languages(password, fragment):
    person = holder()
    with pytest.raises(InvalidInput) as exc:
        _attempt(person, password=password)
    err = exc.value
    assert "password" in err.fields and err.zh and err.en and err.zh != err.en
    assert fragment.lower() in err.en.lower()
    assert not User.objects.exists()
    assert SmsCode.objects.get().attempts == 0  # bad input does not burn the code


def test_every_bad_field_is_reported_at_once():
    with pytest.raises(InvalidInput) as exc:
        services.citizen_register(phone="12", code="000000", name="", id_number="440304199001011234",
                                  password="1", ip=fresh_ip())
    assert set(exc.value.fields) == {"phone", "name", "id_number", "password"}


def test_id_number_with_wrong_check_digit():
    person = holder()
    good = person.id_number
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    with pytest.raises(InvalidInput) as exc:
        _attempt(person, id_number=bad)
    assert exc.value.code == "id_number.check_digit" and "id_number" in exc.value.fields


@hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(position=st.integers(min_value=0, max_value=17), digit=st.sampled_from("0123456789X"))
def test_any_single_character_change_of_the_id_number_is_refused(position, digit):
    valid = make_id_number("440304", dt.date(1990, 3, 7), 123)
    changed = valid[:position] + digit + valid[position + 1:]
    if changed == valid:
        return
    with pytest.raises(InvalidInput) as exc:
        services.citizen_register(phone="13800138000", code="123456", name="张三", id_number=changed,
                                  password=PASSWORD, ip=fresh_ip())
    assert "id_number" in exc.value.fields


def test_lowercase_x_and_spaces_in_id_number_are_accepted():
    from tests.factories import unique_id_number

    number = next(n for n in (unique_id_number() for _ in range(200)) if n.endswith("X"))
    person = make_person(id_number=number)
    assert _attempt(person, id_number=" " + number[:6] + " " + number[6:].lower()).person_id == person.pk


def test_registration_sets_language_from_the_request():
    from django.utils import translation

    with translation.override("en"):
        user = register(make_person())
    assert user.preferred_language == "en"
