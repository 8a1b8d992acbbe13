"""`fieldapp protocol check`, case files and checklist templates."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from fieldapp.cli import main
from fieldapp.clinical.cases import run_folder
from fieldapp.clinical.checklists import (
    ChecklistResponse,
    apply_responses,
    load_templates,
    mapping_problem,
)
from fieldapp.clinical.protocol import PreInfusionVitals, protocol_data
from fieldapp.config import config_dir
from fieldapp.errors import ConfigError


def test_shipped_cases_pass(capsys):
    assert main(["protocol", "check"]) == 0
    out = capsys.readouterr().out
    summary = out.strip().splitlines()[-1]
    passed = int(summary.split()[0])
    assert summary == f"{passed} passed, 0 failed"
    assert passed >= 40
    assert "FAIL" not in out


def test_every_worked_example_of_clinical_section_6_is_a_case():
    text = (config_dir() / "protocol-cases" / "00-worked-examples.toml").read_text()
    for number in ("#1 ", "#2 ", "#7 ", "#28 ", "#32 ", "#37 ", "#43 ", "#46 "):
        assert f'name = "{number}' in text, number


def test_every_readiness_rule_has_a_case():
    from fieldapp.clinical.protocol import READINESS_RULES

    results = run_folder(
        config_dir() / "protocol-cases",
        protocol_data(),
        load_templates(config_dir() / "checklists"),
    )
    seen = {rule for result in results for rule in result.reasons}
    missing = [rule for rule in READINESS_RULES if rule not in seen]
    assert not missing, missing


OPTIONAL_SETTINGS = {
    name for name, field in PreInfusionVitals.model_fields.items() if not field.is_required()
}


def test_every_reason_names_a_real_setting():
    data = protocol_data()
    results = run_folder(
        config_dir() / "protocol-cases", data, load_templates(config_dir() / "checklists")
    )
    interactions = {i["id"] for i in data["interactions"]}
    for setting in {s for result in results for s in result.settings_used}:
        parts = setting.split(".")
        assert parts[0] == "protocol", setting
        node = data
        if parts[1] == "interactions":
            assert parts[2] in interactions, setting
            continue
        for index, part in enumerate(parts[1:], start=1):
            assert isinstance(node, dict), setting
            if part not in node:
                # An optional setting the shipped file leaves unset (a case sets it).
                assert index == len(parts) - 1 and part in OPTIONAL_SETTINGS, setting
                break
            node = node[part]


def test_failing_case_exits_non_zero(tmp_path, capsys):
    (tmp_path / "bad.toml").write_text(
        '[[case]]\nname = "wrong on purpose"\nkind = "scale"\n'
        'inputs = { scale = "nrs", score = 5 }\nexpect = { outcome = "severe" }\n'
        '[[case]]\nname = "right"\nkind = "scale"\n'
        'inputs = { scale = "nrs", score = 5 }\nexpect = { outcome = "moderate" }\n'
    )
    assert main(["protocol", "check", "--cases", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "FAIL  bad.toml: wrong on purpose" in out
    assert "expected severe, got moderate" in out
    assert out.strip().endswith("1 passed, 1 failed")


def test_bad_protocol_exits_2_naming_file_and_key(tmp_path, capsys):
    shutil.copytree(config_dir() / "checklists", tmp_path / "checklists")
    text = (config_dir() / "protocol.toml").read_text()
    bad = tmp_path / "protocol.toml"
    bad.write_text(
        text.replace(
            "hard_stop = { systolic = 180, diastolic = 110 }",
            "hard_stop = { systolic = 130, diastolic = 110 }",
        )
    )
    assert main(["protocol", "check", "--config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "vitals.pre_infusion" in err and "hold.systolic" in err


def test_bad_case_file_toml_exits_2(tmp_path, capsys):
    (tmp_path / "broken.toml").write_text("[[case]\n")
    assert main(["protocol", "check", "--cases", str(tmp_path)]) == 2
    assert "broken.toml" in capsys.readouterr().err


def test_templates_load_with_versions():
    templates = load_templates(config_dir() / "checklists")
    assert {"pre_visit_safety@1", "equipment@1"} <= set(templates)


@pytest.mark.parametrize(
    ("path", "ok"),
    [
        ("today.responsible_adult", True),
        ("equipment.aed", True),
        ("vitals.bp_readings", True),
        ("today.nope", False),
        ("vitals", False),
        ("today.responsible_adult.x", False),
    ],
)
def test_maps_to_must_name_a_readiness_input(path, ok):
    assert (mapping_problem(path) is None) is ok


def test_template_with_bad_mapping_refused(tmp_path):
    (tmp_path / "t.toml").write_text(
        'id = "t"\nversion = 1\ntitle = "T"\n[[items]]\nid = "a"\ntext = "A"\ntype = "bool"\n'
        'maps_to = "today.not_a_field"\n'
    )
    with pytest.raises(ConfigError, match=r"t\.toml: .*maps_to 'today.not_a_field'"):
        load_templates(tmp_path)


def test_response_records_version_and_missing_items():
    templates = load_templates(config_dir() / "checklists")
    response = ChecklistResponse(template="equipment@1", answers={"aed": True, "suction": False})
    data = apply_responses({}, [response], templates)
    (answered,) = data["checklists"]
    assert answered["template"] == "equipment@1"
    assert "oxygen" in answered["missing"] and "capnography" not in answered["missing"]
    assert data["equipment"] == {"aed": True, "suction": False}


def test_cases_dir_default_is_config(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FIELDAPP_CONFIG_DIR", str(Path(config_dir())))
    assert main(["protocol", "check"]) == 0
