from django.urls import include, path

from jiaoguan.console import views

app_name = "console"
urlpatterns = [
    path("", views.index, name="index"),
    path("", include("jiaoguan.console.accounts.urls")),
    path("", include("jiaoguan.console.persons.urls")),
    path("disputes/", include("jiaoguan.console.dispute_urls")),
    path("violations/", include("jiaoguan.console.violation_urls")),
    path("bookings/", include("jiaoguan.console.bookings_urls")),
    path("exams/", include("jiaoguan.console.exams_urls")),
    path("inspections/", include("jiaoguan.console.inspections.urls")),
    path("appointments/", include("jiaoguan.console.counters_urls")),
    path("east/", include("jiaoguan.console.eastern.urls")),
    path("plates/", include("jiaoguan.console.plates.urls")),
    path("applications/", include("jiaoguan.console.applications.urls")),
]
