from django.apps import AppConfig

from jiaoguan.core.i18n import bi


class CountersConfig(AppConfig):
    name = "jiaoguan.counters"
    label = "counters"
    verbose_name = bi("窗口预约", "Counter appointments")
