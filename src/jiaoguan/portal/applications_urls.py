"""applications pages of the portal: mounted by portal/urls.py (namespace portal:applications_portal)."""
from django.urls import path  # noqa: F401

app_name = "applications_portal"
urlpatterns: list = []
