"""protocol.toml drives the decisions; nonsense settings are refused with file, key, problem."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from fieldapp.clinical.protocol import load_protocol
from fieldapp.clinical.readiness import evaluate_readiness
from fieldapp.clinical.readiness_input import ReadinessInput
from fieldapp.config import config_dir
from fieldapp.errors import ConfigError
from tests.clinical.conftest import healthy


def copy_with(tmp_path: Path, old: str, new: str) -> Path:
    """A copy of the shipped protocol.toml with one exact line changed."""
    text = (config_dir() / "protocol.toml").read_text()
    assert text.count(old) == 1, old
    path = tmp_path / "protocol.toml"
    path.write_text(text.replace(old, new))
    return path


def test_changing_a_number_in_the_file_changes_the_decision(tmp_path):
    patient = ReadinessInput.model_validate(healthy(vitals={"bp_readings": ["120/80", "145/85"]}))
    shipped = evaluate_readiness(patient, load_protocol())
    assert shipped.outcome == "hold"
    edited = copy_with(
        tmp_path,
        "hold = { systolic = 140, diastolic = 90 }",
        "hold = { systolic = 150, diastolic = 90 }",
    )
    changed = evaluate_readiness(patient, load_protocol(edited))
    assert changed.outcome == "proceed"


def test_changing_a_dose_cap_in_the_file_changes_the_dose(tmp_path):
    from fieldapp.clinical.dosing import DoseInput, compute_dose

    order = DoseInput.model_validate(
        {
            "weight_kg": 70,
            "height_cm": 175,
            "sex": "male",
            "vial_mg_per_ml": 10,
            "vial_ml": 20,
            "order": {"kind": "bolus", "mg_per_kg": 0.3},
        }
    )
    assert compute_dose(order, load_protocol()).outcome == "ok"
    edited = copy_with(tmp_path, "bolus_cap_mg_per_kg = 0.35", "bolus_cap_mg_per_kg = 0.25")
    assert compute_dose(order, load_protocol(edited)).outcome == "refused"


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "hold = { systolic = 140, diastolic = 90 }",
            "hold = { systolic = 190, diastolic = 90 }",
            "hold.systolic (190) must be below hard_stop.systolic (180)",
        ),
        (
            "home_rate_cap_mg_per_kg_per_h = 1.0",
            "home_rate_cap_mg_per_kg_per_h = 3.0",
            "must not be above rate_hard_ceiling",
        ),
        ("spo2_emergency_below = 88", "spo2_emergency_below = 95", "spo2_emergency_below"),
        (
            "rass_sedation_stop_at_or_below = -3",
            "rass_sedation_stop_at_or_below = -1",
            "rass_sedation_stop_at_or_below",
        ),
        ("bolus_cap_mg_per_kg = 0.35", "bolus_cap_mg_per_kg = -0.35", "bolus_cap_mg_per_kg"),
        ("mi_lookback_months = 6", "mi_lookbak_months = 6", "unknown key"),
        ('bp_reading_used = "last"', 'bp_reading_used = "first"', "bp_reading_used"),
        (
            'cardiac_recent_mi = { outcome = "hard_stop" }',
            "",
            "no outcome given for cardiac_recent_mi",
        ),
        (
            'age_minor = { outcome = "hard_stop" }',
            'age_minor = { outcome = "hard_stop", approvable = true }',
            "only a hold can be approvable",
        ),
        ("after_minutes = 30,", "after_minutes = 10,", "after_minutes must rise strictly"),
    ],
)
def test_nonsense_settings_refused_naming_file_key_and_problem(tmp_path, old, new, message):
    path = copy_with(tmp_path, old, new)
    with pytest.raises(ConfigError) as caught:
        load_protocol(path)
    text = str(caught.value)
    assert text.startswith(str(path)), text
    assert message in text, text


def test_no_clinical_number_in_the_engine():
    """Every number the rules use comes from config: only structural constants remain."""
    allowed = {
        "0",
        "1",
        "2",
        "3",
        "4",
        "5",
        "9",
        "10",
        "12",
        "23",
        "27",
        "60",
        "100",
        "400",
        "300",
        "130",
        "45",
        "25",
        "0.1",
        "0.01",
        "0.001",
        "3600",
        "-5",
        "1000",
        # list indices, scale ranges (CADSS max 92) and RASS levels: structure, not settings
        "-1",
        "-2",
        "-3",
        "-4",
        "8",
        "92",
        "30",
    }
    folder = Path(__file__).resolve().parents[2] / "fieldapp" / "clinical"
    for path in folder.glob("*.py"):
        code = re.sub(r'""".*?"""|"[^"\n]*"|#.*', "", path.read_text(), flags=re.S)
        for number in re.findall(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w.])", code):
            assert number in allowed, f"{path.name}: literal {number} belongs in protocol.toml"


def test_shipped_config_copied_elsewhere_still_checks(tmp_path):
    shutil.copytree(config_dir(), tmp_path / "config")
    assert load_protocol(tmp_path / "config" / "protocol.toml").version
