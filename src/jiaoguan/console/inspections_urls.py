"""inspections pages of the console: mounted by console/urls.py (namespace console:inspections_console)."""
from django.urls import path  # noqa: F401

app_name = "inspections_console"
urlpatterns: list = []
