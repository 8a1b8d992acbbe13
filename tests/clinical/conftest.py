"""Shared fixtures: the shipped protocol, a healthy readiness baseline, protocol overrides."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest

from fieldapp.clinical.protocol import Protocol, load_protocol, protocol_data, protocol_from_data
from fieldapp.config import deep_merge


@pytest.fixture(scope="session")
def protocol() -> Protocol:
    """The shipped protocol.toml."""
    return load_protocol()


@pytest.fixture(scope="session")
def with_settings():
    """Build a protocol with some settings laid over the shipped file."""
    base = protocol_data()

    def build(overrides: dict[str, Any]) -> Protocol:
        return protocol_from_data(deep_merge(base, overrides), "test overrides")

    return build


def healthy(**changes: Any) -> dict[str, Any]:
    """A synthetic healthy adult who passes every readiness rule; `changes` merge over it."""
    base: dict[str, Any] = {
        "visit_at": datetime(2025, 3, 10, 9, 0),
        "age_years": 45,
        "sex": "female",
        "indication": "crps",
        "vitals": {
            "bp_readings": ["130/84", "128/82"],
            "bp_minutes_apart": 5,
            "heart_rate": 76,
            "spo2": 98,
            "rr": 14,
            "temperature_c": 36.8,
        },
        "today": {
            "childbearing_potential": True,
            "hcg": "negative",
            "responsible_adult": True,
            "hours_since_solids": 8,
            "hours_since_clear_fluids": 3,
            "weight_measured_on": date(2025, 3, 10),
            "pdmp_checked": True,
            "consent_on_file": True,
            "phq9_items": [1, 1, 1, 1, 1, 1, 1, 1, 0],
        },
        "personnel": {
            "acls_expires": date(2026, 6, 30),
            "licence_active": True,
            "prescriber_dea_states": ["OR"],
            "visit_state": "OR",
        },
        "equipment": {
            name: True
            for name in [
                "monitor_nibp_spo2_ecg",
                "aed",
                "oxygen",
                "bag_valve_mask",
                "suction",
                "airway_adjuncts",
                "infusion_pump",
                "midazolam",
                "ondansetron",
                "antihypertensive",
            ]
        },
    }
    return deep_merge(base, changes)
