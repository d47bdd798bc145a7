from typing import Any

from django.apps import AppConfig
from django.urls import register_converter

from jiaoguan.core.i18n import bi


class CoreConfig(AppConfig):
    name = "jiaoguan.core"
    label = "core"
    verbose_name: Any = bi("核心", "Core")  # a lazy (zh, en) pair; the stubs know only str and gettext_lazy

    def ready(self) -> None:
        # not at module level: core.http imports core.audit, whose models cannot load before the app registry
        from jiaoguan.core.http import BoundedIntConverter

        # <id:…> in a page URL is a database id: at most 18 digits, so an id too big for a 64-bit column is
        # "not found" (404) rather than an overflow deep in the database driver (500).
        register_converter(BoundedIntConverter, "id")
