"""exams pages of the portal: mounted by portal/urls.py (namespace portal:exams_portal)."""
from django.urls import path  # noqa: F401

app_name = "exams_portal"
urlpatterns: list = []
