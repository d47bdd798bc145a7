from django.apps import AppConfig


class InspectionsConfig(AppConfig):
    name = "jiaoguan.inspections"
    label = "inspections"
    verbose_name = "机动车检验 Inspections"
