from django.apps import AppConfig


class CountersConfig(AppConfig):
    name = "jiaoguan.counters"
    label = "counters"
    verbose_name = "窗口预约 Counter appointments"
