from django.urls import include, path

from jiaoguan.console import views

app_name = "console"
urlpatterns = [
    path("", views.index, name="index"),
    path("", include("jiaoguan.console.accounts.urls")),
    path("", include("jiaoguan.console.persons.urls")),
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
