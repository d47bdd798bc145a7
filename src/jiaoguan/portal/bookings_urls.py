"""bookings pages of the portal: mounted by portal/urls.py (namespace portal:bookings_portal)."""
from django.urls import path  # noqa: F401

app_name = "bookings_portal"
urlpatterns: list = []
