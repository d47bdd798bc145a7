from django.apps import AppConfig

from jiaoguan.core.i18n import bi


class PlatesConfig(AppConfig):
    name = "jiaoguan.plates"
    label = "plates"
    verbose_name = bi("号牌选号", "Plate selection")

    def ready(self) -> None:
        from jiaoguan.plates import handlers, tasks  # noqa: F401 - outbox handlers and periodic jobs
