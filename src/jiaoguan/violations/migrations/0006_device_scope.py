"""Device keys get a scope (issue 10): the endpoints a device may call, the violation codes it may record and the
area its violations' places must lie in.

Existing devices get what they are and what they have done, so nothing that worked in the field stops working
except what the device never had any business doing:

* an eastern checkpoint camera (it has an ``eastern.Checkpoint``): the checkpoint endpoint only, the booking code
  (eastern ``VIOLATION_CODE``, 9301) only, in its area (the area's Chinese name, which starts every place it
  records);
* any other device: the upload endpoints (single and batch), the codes of its kind — a parking camera when every
  code it has recorded is a parking one, a traffic camera otherwise — plus every code it has recorded so far, in
  the whole city (its area is left for staff to narrow in the admin).
"""
from django.db import migrations, models


def scope_existing(apps, schema_editor):
    from jiaoguan.violations import conf

    Device = apps.get_model("violations", "Device")
    Violation = apps.get_model("violations", "Violation")
    Checkpoint = apps.get_model("eastern", "Checkpoint")
    kinds = conf.get("DEVICE_KIND_SCOPES")
    try:
        from jiaoguan.eastern import conf as eastern_conf

        checkpoint_codes = [eastern_conf.get("VIOLATION_CODE")]
    except Exception:  # noqa: BLE001 - the default when the eastern settings cannot be read
        checkpoint_codes = list(kinds["checkpoint"]["codes"])
    checkpoints = {cp.device_id: cp for cp in Checkpoint.objects.select_related("area")}
    for device in Device.objects.all().order_by("pk"):
        cp = checkpoints.get(device.pk)
        if cp is not None:
            device.kind = "checkpoint"
            device.endpoints = sorted(kinds["checkpoint"]["endpoints"])
            device.codes = sorted(set(checkpoint_codes))
            device.area = cp.area.name_zh
        else:
            seen = set(Violation.objects.filter(device_id=device.pk).values_list("code__code", flat=True).distinct())
            parking = set(kinds["parking"]["codes"])
            device.kind = "parking" if seen and seen <= parking else "traffic"
            device.endpoints = sorted(kinds[device.kind]["endpoints"])
            device.codes = sorted(set(kinds[device.kind]["codes"]) | seen)
            device.area = ""
        device.save(update_fields=["kind", "endpoints", "codes", "area"])


class Migration(migrations.Migration):

    dependencies = [
        ('violations', '0005_bilingual_choice_labels'),
        ('eastern', '0001_initial'),
    ]

    operations = [
        migrations.AddField(
            model_name='device',
            name='area',
            field=models.CharField(blank=True, default='', help_text='the place of every violation it records begins with this name, e.g. 福田区 (empty: the whole city)', max_length=80, verbose_name='辖区'),
        ),
        migrations.AddField(
            model_name='device',
            name='codes',
            field=models.JSONField(blank=True, default=list, help_text='the violation codes this device may record (empty: none)', verbose_name='可上传的违法代码'),
        ),
        migrations.AddField(
            model_name='device',
            name='endpoints',
            field=models.JSONField(blank=True, default=list, help_text='violations.single, violations.batch, eastern.checkpoint', verbose_name='可用接口'),
        ),
        migrations.AddField(
            model_name='device',
            name='kind',
            field=models.CharField(choices=[('traffic', '电子警察（闯红灯、测速等）'), ('parking', '违停抓拍'), ('checkpoint', '东部景区卡口')], default='traffic', max_length=12, verbose_name='设备类型'),
        ),
        migrations.RunPython(scope_existing, migrations.RunPython.noop),
    ]
