"""counters pages of the portal: mounted by portal/urls.py (namespace portal:counters_portal)."""
from django.urls import path  # noqa: F401

app_name = "counters_portal"
urlpatterns: list = []
