from django.apps import AppConfig

from jiaoguan.core.i18n import bi


class RecordsConfig(AppConfig):
    name = "jiaoguan.records"
    label = "records"
    verbose_name = bi("我的记录（读模型）", "My records (read model)")

    def ready(self) -> None:
        from jiaoguan.core.outbox import on_records_changed
        from jiaoguan.records import handlers  # noqa: F401 - outbox handlers
        from jiaoguan.records.services import records_mark_stale

        on_records_changed(records_mark_stale)
