"""我的预约: mounted by portal/urls.py at /me/bookings/ (namespace portal:bookings_portal)."""
from django.urls import path

from jiaoguan.portal.bookings import views

app_name = "bookings_portal"
urlpatterns = [
    path("", views.booking_list, name="list"),
    path("<id:booking_id>/confirm/", views.booking_confirm, name="confirm"),
    path("<id:booking_id>/release/", views.booking_release, name="release"),
    path("<id:booking_id>/cancel/", views.booking_cancel, name="cancel"),
    path("applications/<id:application_id>/withdraw/", views.application_withdraw, name="application_withdraw"),
    path("waitlist/<id:entry_id>/withdraw/", views.waitlist_withdraw, name="waitlist_withdraw"),
]
