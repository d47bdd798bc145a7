from django.apps import AppConfig


class InspectionsConfig(AppConfig):
    name = "jiaoguan.inspections"
    label = "inspections"
    verbose_name = "机动车检验 Inspections"

    def ready(self) -> None:
        from jiaoguan.inspections import handlers, tasks  # noqa: F401 - outbox handlers and periodic jobs
