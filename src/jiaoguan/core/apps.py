from django.apps import AppConfig
from django.urls import register_converter


class CoreConfig(AppConfig):
    name = "jiaoguan.core"
    label = "core"
    verbose_name = "核心 Core"

    def ready(self) -> None:
        # not at module level: core.http imports core.audit, whose models cannot load before the app registry
        from jiaoguan.core.http import BoundedIntConverter

        # <id:…> in a page URL is a database id: at most 18 digits, so an id too big for a 64-bit column is
        # "not found" (404) rather than an overflow deep in the database driver (500).
        register_converter(BoundedIntConverter, "id")
