from django.apps import AppConfig


class CountersConfig(AppConfig):
    name = "jiaoguan.counters"
    label = "counters"
    verbose_name = "窗口预约 Counter appointments"

    def ready(self) -> None:
        from jiaoguan.counters import handlers, tasks  # noqa: F401 - outbox handlers and periodic jobs
