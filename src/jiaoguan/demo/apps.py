from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo city command (manage.py demo_city): synthetic registry data plus, when the identity app
    provides them, demo accounts. Holds no models."""

    name = "jiaoguan.demo"
    label = "demo"
    verbose_name = "演示数据 Demo data"
