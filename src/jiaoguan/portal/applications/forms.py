"""The application form, generated from a service's declaration (applications/catalogue.py FieldSpec).

The form only parses and checks shape: every declared field becomes an input of its type (text, number, date with
its bounds, choice, tick box, plate, one of the applicant's own vehicles, ID number, phone, USCC, VIN, file), and every material the applicant may have
to upload becomes a file input. Nothing here is required by Django: a draft may be saved half-filled, and the
engine (applications.rules.form_clean at submission) says what is missing or malformed; its messages are put
beside the fields with ``core.forms.form_error``. A value that is not one of a choice field's choices (a tampered
form) is refused here.

ID numbers and phones are stored encrypted and never shown unmasked, not even to their owner: their inputs start
empty, say what is on file (masked) and an empty input keeps it.
"""
from __future__ import annotations

import datetime as dt

from django import forms
from django.utils.translation import gettext_lazy as _

from jiaoguan.applications.catalogue import FieldSpec, Service, Text, date_bound
from jiaoguan.applications.rules import eligible_vehicles
from jiaoguan.core.i18n import bi
from jiaoguan.core.identifiers import format_plate
from jiaoguan.core.masking import mask_account, mask_id_number, mask_phone

UPLOAD_PREFIX = "upload__"
MAX_CHARS = 2000  # the engine keeps at most this much of one value
TYPE_NAMES = {"pdf": "PDF", "jpeg": "JPG", "png": "PNG"}
ACCEPT = {"pdf": ".pdf,application/pdf", "jpeg": ".jpg,.jpeg,image/jpeg", "png": ".png,image/png"}


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True
    template_name = "django/forms/widgets/file.html"  # a plain file input: no "clear" box


class MultipleFileField(forms.FileField):
    widget = MultipleFileInput

    def clean(self, data, initial=None):
        if isinstance(data, (list, tuple)):
            return [super(MultipleFileField, self).clean(d, initial) for d in data]
        return [super().clean(data, initial)] if data else []


def pick_text(text: Text) -> str:
    """A declaration's bilingual text in the current language."""
    return text.pick()


def upload_name(slot: str) -> str:
    return f"{UPLOAD_PREFIX}{slot}"


def size_text(kb: int) -> str:
    return f"{kb // 1024} MB" if kb % 1024 == 0 else f"{kb} KB"


def _text_input(attrs: dict) -> forms.TextInput:
    return forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false", **attrs})


def _vehicle_option(v) -> str:
    """How one of the applicant's vehicles reads in the list: plate, kind and brand in the page's language."""
    kind = bi(v.kind_zh, v.kind_en).pick()
    return f"{format_plate(v.plate)} · {kind} · {v.brand}" if v.brand else f"{format_plate(v.plate)} · {kind}"


def _own_vehicle_field(spec: FieldSpec, vehicles, common: dict) -> forms.Field:
    """A list of the applicant's own vehicles of the kinds the service accepts (never a typed-in plate): the
    engine accepts only a plate of one of them (applications.rules.own_vehicle_plate)."""
    offered = eligible_vehicles(spec, vehicles)
    if offered:
        choices = [("", _("请选择"))] + [(v.plate, _vehicle_option(v)) for v in offered]
    else:
        choices = [("", _("名下没有可选的车辆"))]
        common = {**common, "help_text": _("您名下没有可办理本事项的车辆。车辆登记在您（或本企业）名下后会出现在这里。")}
    field = forms.ChoiceField(choices=choices, **common)
    field.vehicles = offered
    return field


def _own_record_field(spec: FieldSpec, options, common: dict) -> forms.Field:
    """A list of the applicant's own records the field's source offers (never a typed-in reference): the engine
    accepts only one of them (applications.rules.form_clean)."""
    if options:
        choices = [("", _("请选择"))] + [(o.value, bi(o.zh, o.en).pick()) for o in options]
    else:
        choices = [("", _("没有可选的记录"))]
        common = {**common, "help_text": _("您本人名下没有可办理本事项的记录。")}
    return forms.ChoiceField(choices=choices, **common)


def _field_for(spec: FieldSpec, *, today: dt.date, stored=None, vehicles=(), options=()) -> forms.Field:
    label = pick_text(spec.label)
    help_text = pick_text(spec.help) if spec.help else ""
    common = {"label": label, "required": False, "help_text": help_text}
    t = spec.type
    if t == "textarea":
        high = spec.max_length or 2000
        return forms.CharField(max_length=MAX_CHARS, widget=forms.Textarea(attrs={"rows": 3, "maxlength": high}),
                               **common)
    if t == "text":
        high = spec.max_length or 200
        return forms.CharField(max_length=MAX_CHARS, widget=forms.TextInput(attrs={"maxlength": high}), **common)
    if t == "number":
        attrs = {"inputmode": "numeric" if spec.integer else "decimal"}
        if spec.min is not None:
            attrs["min"] = spec.min
        if spec.max is not None:
            attrs["max"] = spec.max
        return forms.CharField(max_length=40, widget=forms.NumberInput(attrs={**attrs, "step": 1 if spec.integer
                                                                              else "any"}), **common)
    if t == "date":
        attrs = {"type": "date"}
        if spec.min is not None:
            attrs["min"] = date_bound(spec.min, today).isoformat()
        if spec.max is not None:
            attrs["max"] = date_bound(spec.max, today).isoformat()
        return forms.CharField(max_length=20, widget=forms.DateInput(attrs=attrs, format="%Y-%m-%d"), **common)
    if t == "choice":
        choices = [(c.value, pick_text(c.label)) for c in spec.choices]
        if len(choices) <= 4:
            return forms.ChoiceField(choices=choices, widget=forms.RadioSelect, **common)
        return forms.ChoiceField(choices=[("", _("请选择"))] + choices, **common)
    if t == "boolean":
        return forms.BooleanField(**common)
    if t == "plate":
        return forms.CharField(max_length=20, widget=_text_input({"placeholder": "粤B12345", "autocapitalize":
                                                                  "characters"}), **common)
    if t == "own_vehicle":
        return _own_vehicle_field(spec, vehicles, common)
    if t == "own_record":
        return _own_record_field(spec, options, common)
    if t == "vin":
        return forms.CharField(max_length=20, widget=_text_input({"autocapitalize": "characters", "maxlength": 17}),
                               **common)
    if t == "uscc":
        return forms.CharField(max_length=20, widget=_text_input({"autocapitalize": "characters", "maxlength": 18}),
                               **common)
    if t in ("id_number", "phone", "bank_account"):
        masks = {"id_number": mask_id_number, "phone": mask_phone, "bank_account": mask_account}
        on_file = masks[t](str(stored)) if stored else ""
        attrs = {"id_number": {"inputmode": "text", "maxlength": 18}, "phone": {"inputmode": "tel", "maxlength": 11},
                 "bank_account": {"inputmode": "numeric", "maxlength": 34}}[t]
        field = forms.CharField(max_length=40, widget=_text_input(attrs), **common)
        field.on_file = on_file  # shown as "已填写 … (leave empty to keep)"
        return field
    raise ValueError(f"unsupported field type {t}")  # pragma: no cover - file fields are uploads


class ApplicationForm(forms.Form):
    """The answers to one service's form, plus an upload input for each material the applicant may be asked for.

    ``values`` are the stored answers (a draft's), shown as the inputs' initial values; ``held`` names the
    material codes the platform already holds for this applicant (no upload asked); ``vehicles`` are the
    applicant's own vehicles (applications.selectors.applicant_vehicles), offered by own_vehicle fields;
    ``options`` the applicant's own records each own_record field offers (applications.selectors.applicant_options)."""

    def __init__(self, *args, service: Service, today: dt.date, values: dict | None = None,
                 held: set[str] | frozenset[str] = frozenset(), vehicles=(), options=None, **kwargs):
        values = dict(values or {})
        initial = {}
        for spec in service.fields:
            if spec.type == "file" or spec.type in ("id_number", "phone", "bank_account"):
                continue
            value = values.get(spec.name)
            if value is None:
                continue
            initial[spec.name] = value if spec.type != "boolean" else value is True
        super().__init__(*args, initial=initial, **kwargs)
        self.service = service
        self.held = set(held)
        self.answer_names: list[str] = []
        self.upload_names: list[str] = []
        for spec in service.fields:
            if spec.type == "file":
                continue
            self.fields[spec.name] = _field_for(spec, today=today, stored=values.get(spec.name), vehicles=vehicles,
                                                options=(options or {}).get(spec.name, ()))
            self.fields[spec.name].spec = spec
            self.answer_names.append(spec.name)
        for slot, (label, types, max_kb, max_files) in service.upload_slots().items():
            material = service.material(slot)
            if material is not None and material.held and slot in self.held:
                continue  # held by the platform (免提交): never asked for
            field = MultipleFileField(label=pick_text(label), required=False)
            field.widget.attrs.update({"accept": ",".join(ACCEPT[t] for t in types)})
            if max_files > 1:
                field.widget.attrs["multiple"] = True
            else:
                field.widget = forms.ClearableFileInput(attrs={"accept": ",".join(ACCEPT[t] for t in types)})
                field.widget.template_name = "django/forms/widgets/file.html"
            field.slot = slot
            field.types_text = "、".join(TYPE_NAMES[t] for t in types)
            field.max_text = size_text(max_kb)
            field.max_files = max_files
            field.material = material
            spec = service.field(slot)
            field.required_slot = (material.required if material is not None else spec.required)
            field.note = pick_text(material.note) if material is not None and material.note else ""
            self.fields[upload_name(slot)] = field
            self.upload_names.append(upload_name(slot))

    # --- what the view hands to the engine -----------------------------------------------------------------------

    def answers(self) -> dict:
        """The form's answers for ``application_draft_update``: every declared field the request carried (an
        unticked box is False; an empty ID-number or phone input keeps what is on file)."""
        out: dict = {}
        for name in self.answer_names:
            spec: FieldSpec = self.fields[name].spec
            if spec.type == "boolean":
                out[name] = bool(self.cleaned_data.get(name))
                continue
            if name not in self.data:
                continue
            value = self.cleaned_data.get(name)
            value = "" if value is None else str(value).strip()
            if spec.type in ("id_number", "phone", "bank_account") and value == "":
                continue
            out[name] = value
        return out

    def uploads(self) -> list[tuple[str, object]]:
        """(slot, uploaded file) for every file the request carried."""
        out = []
        for name in self.upload_names:
            for f in self.files.getlist(name) if hasattr(self.files, "getlist") else []:
                if f:
                    out.append((self.fields[name].slot, f))
        return out

    def answer_fields(self):
        return [self[name] for name in self.answer_names]

    def upload_fields(self):
        return [self[name] for name in self.upload_names]
