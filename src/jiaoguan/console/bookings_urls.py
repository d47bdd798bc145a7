"""bookings pages of the console: mounted by console/urls.py (namespace console:bookings_console)."""
from django.urls import path  # noqa: F401

app_name = "bookings_console"
urlpatterns: list = []
