"""Payment pages outside the portal: the channel simulator's pay page (development and tests)."""
from django.urls import path

app_name = "payments"
urlpatterns: list = []
