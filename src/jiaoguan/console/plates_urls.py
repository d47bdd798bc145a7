"""plates pages of the console: mounted by console/urls.py (namespace console:plates_console)."""
from django.urls import path  # noqa: F401

app_name = "plates_console"
urlpatterns: list = []
