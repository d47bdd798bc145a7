"""The default catalogue of counter services (the same rows as counters/defaults.py; a city edits them in the
admin)."""
from django.db import migrations

SERVICES = [
    ("licence", "驾驶证业务", "Driving licence business", "换证、补证、恢复驾驶资格、信息变更等",
     "Renewal, replacement, reinstatement, change of details", "person", 10),
    ("vehicle", "机动车业务", "Vehicle business", "注册、转移、变更、抵押、注销登记，补换号牌行驶证等",
     "Registration, transfer, change, mortgage, deregistration, replacement plates and papers", "vehicle", 20),
    ("violation", "违法处理", "Violation handling", "交通违法处理、罚款缴纳、记分查询等",
     "Handling traffic violations, paying fines, points", "vehicle", 30),
    ("accident", "事故处理", "Accident handling", "交通事故认定、调解及材料领取",
     "Accident findings, mediation and documents", "person", 40),
]


def load(apps, schema_editor):
    CounterService = apps.get_model("counters", "CounterService")
    for code, zh, en, dzh, den, subject, sort in SERVICES:
        CounterService.objects.get_or_create(code=code, defaults={
            "name_zh": zh, "name_en": en, "description_zh": dzh, "description_en": den, "subject": subject,
            "sort": sort})


class Migration(migrations.Migration):
    dependencies = [("counters", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
