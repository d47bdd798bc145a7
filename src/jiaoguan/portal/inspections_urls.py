"""inspections pages of the portal: mounted by portal/urls.py (namespace portal:inspections_portal)."""
from django.urls import path  # noqa: F401

app_name = "inspections_portal"
urlpatterns: list = []
