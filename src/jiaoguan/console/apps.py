from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    name = "jiaoguan.console"
    label = "console"
    verbose_name = "民警工作台 Staff console"
