from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "jiaoguan.payments"
    label = "payments"
    verbose_name = "缴费 Payments"

    def ready(self) -> None:
        from jiaoguan.payments import handlers  # noqa: F401 - subscribes outbox handlers
