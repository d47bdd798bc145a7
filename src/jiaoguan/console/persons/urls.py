from django.urls import path

from jiaoguan.console.persons import views

urlpatterns = [
    path("persons/", views.person_search, name="person_search"),
    path("persons/<id:person_id>/", views.person_detail, name="person_detail"),
    path("persons/<id:person_id>/unmask/", views.person_unmask, name="person_unmask"),
    path("audit/access/", views.access_log, name="access_log"),
]
