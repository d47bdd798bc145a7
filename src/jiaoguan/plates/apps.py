from django.apps import AppConfig


class PlatesConfig(AppConfig):
    name = "jiaoguan.plates"
    label = "plates"
    verbose_name = "号牌选号 Plate selection"

    def ready(self) -> None:
        from jiaoguan.plates import handlers, tasks  # noqa: F401 - outbox handlers and periodic jobs
