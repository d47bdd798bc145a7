"""东部预约: mounted by portal/urls.py at /me/east/ (namespace portal:eastern_portal)."""
from django.urls import path

from jiaoguan.portal.eastern import views

app_name = "eastern_portal"
urlpatterns = [
    path("", views.home, name="home"),
    path("bookings/<id:booking_id>/delay/", views.delay, name="delay"),
    path("bookings/<id:booking_id>/cancel/", views.cancel, name="cancel"),
    path("<slug:area_code>/<str:date>/", views.day, name="day"),
    path("<slug:area_code>/<str:date>/merchant/", views.merchant, name="merchant"),
]
