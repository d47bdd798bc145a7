"""机动车检验: mounted by portal/urls.py at /me/inspections/ (namespace portal:inspections_portal)."""
from django.urls import path

from jiaoguan.portal.inspections import views

app_name = "inspections_portal"
urlpatterns = [
    path("", views.home, name="home"),
    path("book/<id:vehicle_id>/", views.book_station, name="book_station"),
    path("book/<id:vehicle_id>/stations/<id:station_id>/", views.book_slots, name="book_slots"),
    path("book/<id:vehicle_id>/hold/", views.hold, name="hold"),
    path("bookings/<id:booking_id>/", views.booking, name="booking"),
    path("bookings/<id:booking_id>/confirm/", views.confirm, name="confirm"),
    path("bookings/<id:booking_id>/cancel/", views.cancel, name="cancel"),
    path("marks/apply/<id:vehicle_id>/", views.mark_apply, name="mark_apply"),
    path("marks/<str:number>/", views.mark, name="mark"),
    # public (no login): the address in the mark's QR code
    path("verify/<str:number>/<str:token>/", views.verify, name="verify"),
]
