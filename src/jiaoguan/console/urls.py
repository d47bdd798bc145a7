from django.urls import include, path

from jiaoguan.console import views

app_name = "console"
urlpatterns = [
    path("", views.index, name="index"),
    path("login/", views.login, name="login"),
    path("logout/", views.logout, name="logout"),
    path("persons/", views.person_search, name="person_search"),
    path("persons/<id:person_id>/", views.person_detail, name="person_detail"),
    path("persons/<id:person_id>/unmask/", views.person_unmask, name="person_unmask"),
    path("audit/access/", views.access_log, name="access_log"),
    path("staff/", views.staff_list, name="staff"),
    path("staff/<id:user_id>/active/", views.staff_active, name="staff_active"),
    path("disputes/", include("jiaoguan.console.disputes.urls")),
    path("violations/", include("jiaoguan.console.violations.urls")),
    path("bookings/", include("jiaoguan.console.bookings.urls")),
    path("exams/", include("jiaoguan.console.exams.urls")),
    path("inspections/", include("jiaoguan.console.inspections.urls")),
    path("appointments/", include("jiaoguan.console.counters.urls")),
    path("east/", include("jiaoguan.console.eastern.urls")),
    path("plates/", include("jiaoguan.console.plates.urls")),
    path("applications/", include("jiaoguan.console.applications.urls")),
]
