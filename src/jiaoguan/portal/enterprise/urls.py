from django.urls import path

from jiaoguan.portal.enterprise import views

urlpatterns = [
    path("", views.home, name="enterprise"),
]
