from django.apps import AppConfig

from jiaoguan.core.i18n import bi


class PaymentsConfig(AppConfig):
    name = "jiaoguan.payments"
    label = "payments"
    verbose_name = bi("缴费", "Payments")

    def ready(self) -> None:  # imports here: they need the app registry, which is ready only now
        from jiaoguan.payments import notices  # noqa: F401 - subscribes the notice handlers
        from jiaoguan.payments.channels import adapters_load

        adapters_load()  # the channel adapters of JIAOGUAN_PAY_CHANNEL_ADAPTERS (the simulator's tasks with them)
