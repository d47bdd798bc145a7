"""网上选号: mounted by portal/urls.py at /me/plates/ (namespace portal:plates_portal)."""
from django.urls import path

from jiaoguan.portal.plates import views

app_name = "plates_portal"
urlpatterns = [
    path("", views.index, name="index"),
    path("vehicles/<id:vehicle_id>/start/", views.start, name="start"),
    path("<id:selection_id>/", views.selection, name="selection"),
    path("<id:selection_id>/draw/", views.draw, name="draw"),
    path("<id:selection_id>/compose/", views.compose, name="compose"),
    path("<id:selection_id>/hold/", views.hold, name="hold"),
    path("<id:selection_id>/keep/", views.keep, name="keep"),
    path("<id:selection_id>/confirm/", views.confirm, name="confirm"),
    path("<id:selection_id>/release/", views.release, name="release"),
]
