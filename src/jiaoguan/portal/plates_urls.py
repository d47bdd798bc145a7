"""plates pages of the portal: mounted by portal/urls.py (namespace portal:plates_portal)."""
from django.urls import path  # noqa: F401

app_name = "plates_portal"
urlpatterns: list = []
