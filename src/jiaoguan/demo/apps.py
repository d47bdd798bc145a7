from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "jiaoguan.demo"
    label = "demo"
    verbose_name = "演示城市 Demo city"
