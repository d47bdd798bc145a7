from django.apps import AppConfig

from jiaoguan.core.i18n import bi


class DemoConfig(AppConfig):
    """The demo city command (manage.py demo_city): synthetic registry data plus, when the identity app
    provides them, demo accounts. Its one model records each run, so an interrupted run is resumed."""

    name = "jiaoguan.demo"
    label = "demo"
    verbose_name = bi("演示数据", "Demo data")
