"""eastern pages of the console: mounted by console/urls.py (namespace console:eastern_console)."""
from django.urls import path  # noqa: F401

app_name = "eastern_console"
urlpatterns: list = []
