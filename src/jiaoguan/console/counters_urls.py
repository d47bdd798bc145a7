"""counters pages of the console: mounted by console/urls.py (namespace console:counters_console)."""
from django.urls import path  # noqa: F401

app_name = "counters_console"
urlpatterns: list = []
