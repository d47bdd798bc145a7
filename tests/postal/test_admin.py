"""The admin lists shipments browse-only, with the recipient masked and failed bookings visible."""
from __future__ import annotations

import pytest
from django.urls import reverse

from tests.postal.conftest import ADDRESS, NAME, PHONE, make_shipment

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_(client):
    from jiaoguan.identity.models import User

    client.force_login(User.objects.create_superuser("admin-postal", "correct horse battery"))
    return client


def test_admin_shows_shipments_masked(admin_client_):
    s = make_shipment()
    listing = admin_client_.get(reverse("admin:postal_shipment_changelist") + "?status__exact=accepted")
    page = admin_client_.get(reverse("admin:postal_shipment_change", args=[s.pk]))
    for response in (listing, page):
        assert response.status_code == 200
        text = response.content.decode()
        assert s.tracking_number in text and "张*明" in text
        for secret in (NAME, PHONE, ADDRESS):
            assert secret not in text
    assert "139****5678" in page.content.decode()
    assert admin_client_.get(reverse("admin:postal_shipment_add")).status_code == 403
