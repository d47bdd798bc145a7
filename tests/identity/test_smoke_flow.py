import pytest

from tests.identity.helpers import holder, register


@pytest.mark.django_db
def test_register_smoke():
    person = holder()
    user = register(person)
    assert user.pk and user.person_id == person.pk
