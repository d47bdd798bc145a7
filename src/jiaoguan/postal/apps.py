from django.apps import AppConfig

from jiaoguan.core.i18n import bi


class PostalConfig(AppConfig):
    name = "jiaoguan.postal"
    label = "postal"
    verbose_name = bi("邮寄", "Postal delivery")

    def ready(self) -> None:  # imports here: they need the app registry, which is ready only now
        from jiaoguan.postal import checks, tasks  # noqa: F401 - system check, periodic jobs
        from jiaoguan.postal.carriers import adapters_load

        adapters_load()  # the carrier adapters of JIAOGUAN_POSTAL_CARRIER_ADAPTERS (the simulator's task with them)
