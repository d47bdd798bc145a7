from django.apps import AppConfig

from jiaoguan.core.i18n import bi


class ApplicationsConfig(AppConfig):
    name = "jiaoguan.applications"
    label = "applications"
    verbose_name = bi("办事申请", "Applications")

    def ready(self) -> None:
        # the system check, outbox handlers and periodic jobs register themselves on import
        from jiaoguan.applications import checks, handlers, tasks  # noqa: F401
