"""Existing inbox messages get their text in the other language (so an English page shows English, a Chinese
page Chinese), rendered from the template and the parameters stored with each message; and the violation and
payment notice templates are seeded.

A message whose template is gone, declares secret parameters (those are not stored), or whose stored parameters
do not fill it, keeps only the text it was sent with: it is shown as it was sent, as before.
"""
import datetime as dt
import importlib
import re

from django.db import migrations

_seed = importlib.import_module("jiaoguan.notifications.migrations.0002_seed_templates").seed

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def _revive(value):
    """Dates were stored as ISO text (JSON): give them back their type so they render as the sender's did."""
    if isinstance(value, str):
        try:
            if _DATE.match(value):
                return dt.date.fromisoformat(value)
            if _DATETIME.match(value):
                return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    return value


def _texts(apps):
    from jiaoguan.notifications import defaults, rules

    MessageTemplate = apps.get_model("notifications", "MessageTemplate")
    texts = {d.code: (d.params, d.secret, {"zh-hans": (d.subject_zh, d.body_zh), "en": (d.subject_en, d.body_en)})
             for d in defaults.TEMPLATES}
    for row in MessageTemplate.objects.all():
        texts[row.code] = (tuple(rules.split_names(row.params)), tuple(rules.split_names(row.secret_params)),
                           {"zh-hans": (row.subject_zh, row.body_zh), "en": (row.subject_en, row.body_en)})
    return texts


def fill_other_language(apps, schema_editor):
    from jiaoguan.notifications import rules

    Message = apps.get_model("notifications", "Message")
    texts = _texts(apps)
    rows = Message.objects.filter(channel="inbox", alt_body__isnull=True).order_by("pk")
    for message in rows.iterator(chunk_size=500):
        known = texts.get(message.template_code)
        if known is None:
            continue
        names, secret, by_language = known
        params = {k: _revive(v) for k, v in (message.params or {}).items()}
        if secret or any(params.get(n) in (None, "") for n in names):
            continue
        other = rules.other_language(message.language)
        subject, body = by_language[other]
        try:
            message.alt_subject = rules.render(subject, params, language=other)[:120]
            message.alt_body = rules.render(body, params, language=other)
        except KeyError:  # a text edited to use a placeholder this message was not sent with
            continue
        message.save(update_fields=["alt_subject", "alt_body"])


class Migration(migrations.Migration):
    dependencies = [("notifications", "0008_inbox_both_languages")]

    operations = [
        migrations.RunPython(fill_other_language, migrations.RunPython.noop),
        migrations.RunPython(_seed, migrations.RunPython.noop),
    ]
