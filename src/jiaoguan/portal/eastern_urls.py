"""eastern pages of the portal: mounted by portal/urls.py (namespace portal:eastern_portal)."""
from django.urls import path  # noqa: F401

app_name = "eastern_portal"
urlpatterns: list = []
