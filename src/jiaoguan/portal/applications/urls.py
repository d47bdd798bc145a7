"""网上办事: mounted by portal/urls.py at /services/ (namespace portal:applications_portal).

The catalogue and the guides are public; everything else needs a citizen or enterprise account. "mine" comes
before "<code>/" so it is never read as a service code.
"""
from django.urls import path

from jiaoguan.portal.applications import views

app_name = "applications_portal"
urlpatterns = [
    path("", views.index, name="index"),
    path("mine/", views.mine, name="mine"),
    path("mine/<id:application_id>/", views.detail, name="detail"),
    path("mine/<id:application_id>/edit/", views.edit, name="edit"),
    path("mine/<id:application_id>/check/", views.check, name="check"),
    path("mine/<id:application_id>/submit/", views.submit, name="submit"),
    path("mine/<id:application_id>/withdraw/", views.withdraw, name="withdraw"),
    path("mine/<id:application_id>/materials/<id:material_id>/", views.material_file, name="material"),
    path("mine/<id:application_id>/materials/<id:material_id>/remove/", views.material_remove,
         name="material_remove"),
    # public (no login): the guide (办事指南)
    path("<str:code>/", views.guide, name="guide"),
    path("<str:code>/apply/", views.apply, name="apply"),
]
