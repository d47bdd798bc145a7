from django.apps import AppConfig

from jiaoguan.core.i18n import bi


class ConsoleConfig(AppConfig):
    name = "jiaoguan.console"
    label = "console"
    verbose_name = bi("民警工作台", "Staff console")
