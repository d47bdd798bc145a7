"""An id too big for a 64-bit column in a URL is "not found", never a 500 from the database driver."""
import pytest

from tests.portal.support import citizen_records, register

pytestmark = pytest.mark.django_db

HUGE = "99999999999999999999999"  # 23 digits
OVERFLOW = "9223372036854775808"  # 2**63


def test_huge_ids_in_page_urls_are_404(client):
    person, _, _ = citizen_records()
    client.force_login(register(person))
    for url in (f"/me/violations/{HUGE}/", f"/me/violations/{OVERFLOW}/", f"/me/vehicles/bindings/{OVERFLOW}/confirm/"):
        assert client.get(url).status_code == 404, url


def test_huge_ids_in_api_urls_are_4xx(client):
    person, _, _ = citizen_records()
    client.force_login(register(person))
    for url in (f"/api/v1/me/violations/{HUGE}", f"/api/v1/me/violations/{OVERFLOW}"):
        assert client.get(url).status_code in (404, 422), url
