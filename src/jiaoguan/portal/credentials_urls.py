"""credentials pages of the portal: mounted by portal/urls.py at /credentials/ (namespace portal:credentials_portal):
the holder's own e-permits (login) and the public verification page (no login, the address in the QR code)."""
from django.urls import path  # noqa: F401

app_name = "credentials_portal"
urlpatterns: list = []
