from django.apps import AppConfig

from jiaoguan.core.i18n import bi


class ViolationsConfig(AppConfig):
    name = "jiaoguan.violations"
    label = "violations"
    verbose_name = bi("交通违法", "Violations")

    def ready(self) -> None:
        from jiaoguan.violations import handlers, notices  # noqa: F401 - subscribe outbox handlers
