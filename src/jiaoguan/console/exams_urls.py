"""exams pages of the console: mounted by console/urls.py (namespace console:exams_console)."""
from django.urls import path  # noqa: F401

app_name = "exams_console"
urlpatterns: list = []
