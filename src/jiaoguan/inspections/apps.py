from django.apps import AppConfig

from jiaoguan.core.i18n import bi


class InspectionsConfig(AppConfig):
    name = "jiaoguan.inspections"
    label = "inspections"
    verbose_name = bi("机动车检验", "Inspections")
