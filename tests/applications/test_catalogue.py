"""The catalogue: declarations load, are searchable, and an inconsistent one is refused at load with a clear
message naming the file and the problem."""
import shutil
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from jiaoguan.applications.catalogue import (
    CATALOGUE_DIR,
    CatalogueError,
    catalogue_load,
    service_get,
    services_list,
)
from tests.applications.support import TEST_CATALOGUE

SAMPLE = (TEST_CATALOGUE / "sample.toml").read_text(encoding="utf-8")


def test_app_catalogue_is_the_citys_services_only():
    """The catalogue the city runs holds its real services: the sample that backs the tests lives with the tests,
    so it never shows in a staff filter or a listing ("示例通行许可" in the console's service filter, issue 9)."""
    cat = catalogue_load()
    assert cat.get("sample") is None
    assert all(s.listed for s in cat.services.values())
    assert not [s.code for s in cat.services.values() if "示例" in s.name.zh or s.code.startswith(("t_", "sample"))]


def test_app_catalogue_loads(test_catalogue):
    cat = test_catalogue
    sample = cat.get("sample")
    assert sample.name.zh == "示例通行许可" and sample.name.en == "Sample permit"
    assert sample.time_limit_days == 3 and sample.fee_fen == 0
    assert sample.workflow.approve_first.field == "urgency"
    assert set(sample.workflow.actions) == {"accept", "refuse", "review", "send_back", "approve", "reject", "confirm",
                                            "revoke"}
    assert sample.material("licence").held == "registry.licence"
    assert len(sample.digest) == 64


def ours(services) -> list[str]:
    """Only this suite's services (the catalogue also holds the city's real ones)."""
    return [s.code for s in services if s.code.startswith("t_") or s.code == "sample"]


def test_listing_hides_unlisted_and_searches(test_catalogue):
    codes = ours(services_list())
    assert "sample" not in codes and "t_standard" in codes
    assert service_get(code="sample").code == "sample"  # reachable by code
    assert ours(services_list(q="紧急")) == ["t_urgent"]
    assert ours(services_list(q="auto-approval")) == ["t_auto"]
    assert ours(services_list(q="TEST urgent")) == ["t_urgent"]  # every word, any case
    assert ours(services_list(category="permits")) == ["t_urgent"]
    assert ours(services_list(applicant="enterprise")) == ["t_auto"]


def _load_with(tmp_path: Path, text: str, name: str = "broken.toml"):
    (tmp_path / name).write_text(text, encoding="utf-8")
    return catalogue_load(tmp_path)


def _problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(CatalogueError) as e:
        _load_with(tmp_path, text)
    assert all(p.startswith("broken.toml: ") for p in e.value.problems), e.value.problems
    return e.value.problems


def _variant(old: str, new: str, count: int = 1) -> str:
    assert old in SAMPLE, old
    return SAMPLE.replace(old, new, count)


@pytest.mark.parametrize("old,new,expected", [
    ('eligibility = ["account.real_name"', 'eligibility = ["account.real_nam"',
     "eligibility[0]: unknown eligibility rule 'account.real_nam'"),
    ('held = "registry.licence"', 'held = "registry.licenses"',
     "materials[1].held: unknown held-material provider 'registry.licenses'"),
    ("outputs = []", 'outputs = ["fax"]', "outputs[0]: unknown output 'fax'"),
    ('preset = "with_review"', 'preset = "with_review"\n[workflow.actions.approve]\nfrom = ["reviewed"]\nto = "granted"\n'
                               'permission = "application.approve"',
     "workflow.actions.approve.to: goes to the unknown state 'granted'"),
    ('preset = "with_review"', 'preset = "with_review"\n[workflow.actions.review]\nfrom = ["under_review"]\n'
                               'to = "reviewed"\nroles = ["sheriff"]',
     "workflow.actions.review.roles: the role 'sheriff' does not exist"),
    ('preset = "with_review"', 'preset = "with_review"\n[workflow.actions.review]\nfrom = ["under_review"]\n'
                               'to = "reviewed"\npermission = "application.rubberstamp"',
     "workflow.actions.review.permission: unknown permission 'application.rubberstamp'"),
    ('approve_first = { field = "urgency"', 'approve_first = { field = "priority"',
     "workflow.approve_first.field: refers to the field 'priority', which the form does not declare"),
    ('in = ["urgent"]', 'in = ["critical"]', "workflow.approve_first.in: 'critical' is not a choice of the field 'urgency'"),
    ('name = { zh = "示例通行许可", en = "Sample permit" }', 'name = { zh = "示例通行许可" }', "name.en: English text is missing"),
    ('label = { zh = "通行日期", en = "Date of travel" }', 'label = "通行日期"',
     "form.fields[2].label: needs both Chinese and English"),
    ('type = "plate"', 'type = "licence_plate"', "form.fields[0].type: unknown type 'licence_plate'"),
    ('time_limit_days = 3', 'time_limit_days = 3\ntime_limt_days = 4', "time_limt_days: unknown key"),
    ('category = "samples"', 'category = "misc"', "category: unknown category 'misc'"),
    ('max = 10', 'max = "ten"', "form.fields[3].max: must be a number"),
    ('name = "note"', 'name = "plate"', "form.fields: the field 'plate' is declared twice"),
    ('preset = "with_review"', 'preset = "with_review"\n[workflow.actions.accept]\nfrom = ["reviewed"]\n'
                               'to = "under_review"\npermission = "application.accept"',
     "workflow.actions.accept.from: 'accept' cannot start from 'reviewed'"),
    ('preset = "with_review"', 'preset = "with_review"\n[workflow.actions.publish]\nfrom = ["reviewed"]\n'
                               'to = "approved"\npermission = "application.approve"',
     "workflow.actions.publish: unknown action 'publish'"),
])
def test_inconsistent_declarations_are_refused(tmp_path, old, new, expected):
    problems = _problems(tmp_path, _variant(old, new))
    assert any(expected in p for p in problems), problems


def test_every_problem_is_listed_at_once(tmp_path):
    text = _variant('eligibility = ["account.real_name"', 'eligibility = ["nope"').replace(
        'category = "samples"', 'category = "misc"')
    problems = _problems(tmp_path, text)
    assert len(problems) == 2


def test_preset_none_requires_an_approve_action(tmp_path):
    text = _variant('preset = "with_review"\napprove_first = { field = "urgency", in = ["urgent"] }',
                    'preset = "none"\nstates = ["draft", "submitted", "under_review", "refused"]\n'
                    '[workflow.actions.accept]\nfrom = ["submitted"]\nto = "under_review"\nroles = ["clerk"]\n')
    problems = _problems(tmp_path, text)
    assert any("nothing can approve" in p for p in problems)
    assert any("no action leads out of 'under_review'" in p for p in problems)


def test_duplicate_codes_across_files_are_refused(tmp_path):
    shutil.copy(TEST_CATALOGUE / "sample.toml", tmp_path / "a.toml")
    shutil.copy(TEST_CATALOGUE / "sample.toml", tmp_path / "b.toml")
    with pytest.raises(CatalogueError) as e:
        catalogue_load(tmp_path)
    assert e.value.problems == ["b.toml: code: duplicate service code 'sample' (also declared in a.toml)"]


def test_invalid_toml_is_refused(tmp_path):
    with pytest.raises(CatalogueError) as e:
        _load_with(tmp_path, "code = 'x\n")
    assert e.value.problems[0].startswith("broken.toml: is not valid TOML")


def test_catalogue_check_command(tmp_path, capsys):
    call_command("catalogue_check", str(CATALOGUE_DIR), str(TEST_CATALOGUE))
    out = capsys.readouterr().out
    assert "sample" in out and "t_urgent" in out and "catalogue OK: " in out
    (tmp_path / "broken.toml").write_text(_variant('eligibility = ["account.real_name"', 'eligibility = ["x"'),
                                          encoding="utf-8")
    with pytest.raises(CommandError):
        call_command("catalogue_check", str(tmp_path))
    assert "broken.toml: eligibility[0]: unknown eligibility rule 'x'" in capsys.readouterr().err


def test_system_check_runs_the_loader(monkeypatch):
    from jiaoguan.applications import catalogue as cat_module
    from jiaoguan.applications import checks

    assert checks.catalogue_consistent() == []
    monkeypatch.setattr(cat_module, "catalogue_load", lambda *a: (_ for _ in ()).throw(CatalogueError(["x.toml: bad"])))
    errors = checks.catalogue_consistent()
    assert [e.id for e in errors] == ["applications.E001"] and errors[0].msg == "x.toml: bad"


def test_hook_names_cannot_be_taken_twice():
    from jiaoguan.applications.hooks import eligibility_rule

    with pytest.raises(ValueError):
        eligibility_rule("account.real_name")(lambda ctx: [])


def test_readme_example_loads(tmp_path):
    readme = (CATALOGUE_DIR.parent / "README.md").read_text(encoding="utf-8")
    example = readme.split("```toml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "example.toml").write_text(example, encoding="utf-8")
    service = catalogue_load(tmp_path).get("sample")
    assert service.workflow.approve_first.values == ("urgent",) and service.material("licence").upload_if_not_held


def test_a_service_sent_by_post_must_ask_whether_delivery_is_available(tmp_path):
    """The output "post" requires the eligibility rule postal.delivery_available: a declaration without it is
    refused at start-up, so no service can fail at approval on a deployment without a postal carrier."""
    source = (TEST_CATALOGUE / "t_post.toml").read_text(encoding="utf-8")
    assert _load_with(tmp_path, source).get("t_post") is not None
    (tmp_path / "broken.toml").unlink()
    with pytest.raises(CatalogueError) as refused:
        _load_with(tmp_path, source.replace('eligibility = ["postal.delivery_available"]\n', ""))
    assert refused.value.problems == ["broken.toml: outputs[0]: output 'post' needs the eligibility rule "
                                      "'postal.delivery_available' in eligibility"]
