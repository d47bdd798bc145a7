"""applications pages of the console: mounted by console/urls.py (namespace console:applications_console)."""
from django.urls import path  # noqa: F401

app_name = "applications_console"
urlpatterns: list = []
