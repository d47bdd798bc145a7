"""网上选号: mounted by portal/urls.py at /me/plates/ (namespace portal:plates_portal)."""
from django.urls import path

from jiaoguan.portal import plates_views as views

app_name = "plates_portal"
urlpatterns = [
    path("", views.index, name="index"),
    path("vehicles/<int:vehicle_id>/start/", views.start, name="start"),
    path("<int:selection_id>/", views.selection, name="selection"),
    path("<int:selection_id>/draw/", views.draw, name="draw"),
    path("<int:selection_id>/compose/", views.compose, name="compose"),
    path("<int:selection_id>/hold/", views.hold, name="hold"),
    path("<int:selection_id>/keep/", views.keep, name="keep"),
    path("<int:selection_id>/confirm/", views.confirm, name="confirm"),
    path("<int:selection_id>/release/", views.release, name="release"),
]
