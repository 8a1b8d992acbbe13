"""Patient, Encounter and Flag resources (FHIR R4, US Core profiles) from the server's
patient summaries, visits and their status events. Input is each record's stored JSON."""

from __future__ import annotations

from typing import Any

from sync.server.fhir.codes import US_CORE, Codes, derived_id, ref

FLAG_CATEGORY = "http://terminology.hl7.org/CodeSystem/flag-category"
ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"
GENDERS = frozenset({"female", "male", "other", "unknown"})


def patient(
    codes: Codes, pid: str, contact: dict[str, Any], clinical: dict[str, Any] | None
) -> dict[str, Any]:
    """A US Core Patient: name, gender, birth date, phone and address."""
    name = str(contact.get("display_name", ""))
    *given, family = name.split() or [""]
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": pid,
        "meta": {"profile": [US_CORE + "us-core-patient"]},
        "identifier": [{"system": codes.patient_system, "value": pid}],
        "name": [{"text": name, "family": family, "given": given}]
        if given
        else [{"text": name, "family": family}],
        "gender": "unknown",
    }
    if clinical is not None:
        sex = clinical.get("sex")
        resource["gender"] = sex if sex in GENDERS else "unknown"
        if clinical.get("date_of_birth"):
            resource["birthDate"] = clinical["date_of_birth"]
    if contact.get("phone"):
        resource["telecom"] = [{"system": "phone", "value": contact["phone"], "use": "home"}]
    address = contact.get("address")
    if address:
        lines = [address["street"], *([address["unit"]] if address.get("unit") else [])]
        resource["address"] = [
            {
                "use": "home",
                "line": lines,
                "city": address["city"],
                "state": address["state"],
                "postalCode": address["postal_code"],
                "country": "US",
            }
        ]
    return resource


def flags(codes: Codes, pid: str, contact: dict[str, Any]) -> list[dict[str, Any]]:
    """One Flag per safety flag of the patient (an aggressive dog, stairs, no signal)."""
    return [
        {
            "resourceType": "Flag",
            "id": derived_id(pid, f"flag/{text}"),
            "status": "active",
            "category": [
                {"coding": [{"system": FLAG_CATEGORY, "code": "safety", "display": "Safety"}]}
            ],
            "code": {"text": text},
            "subject": ref("Patient", pid),
        }
        for text in contact.get("safety_flags", [])
    ]


def encounter(
    codes: Codes,
    visit: dict[str, Any],
    events: list[dict[str, Any]],
    diagnoses: list[dict[str, Any]],
) -> dict[str, Any]:
    """A US Core Encounter for one visit: home health, its period from the EVV check-in and
    check-out, its status from what the road recorded."""
    seen = {e["status"]: e["at"] for e in sorted(events, key=lambda e: e["at"])}
    if visit.get("status") == "cancelled" and "arrived" not in seen:
        status = "cancelled"
    elif "checked_out" in seen or ("declined" in seen and "arrived" not in seen):
        status = "finished"  # declined after arriving: in progress until the check-out
    elif "arrived" in seen:
        status = "in-progress"
    else:
        status = "planned"
    start = seen.get("arrived", visit["window_start"])
    period = {"start": start}
    end = seen.get("checked_out") or ("arrived" not in seen and seen.get("declined"))
    if end:
        period["end"] = end
    resource: dict[str, Any] = {
        "resourceType": "Encounter",
        "id": visit["id"],
        "meta": {"profile": [US_CORE + "us-core-encounter"]},
        "identifier": codes.record_identifier(visit["id"]),
        "status": status,
        "class": codes.encounter_class,
        "type": [{"text": "Home IV ketamine infusion"}],
        "subject": ref("Patient", visit["patient_id"]),
        "participant": [{"individual": codes.person(visit["clinician_id"])}],
        "period": period,
    }
    reasons = [
        {"coding": [{"system": ICD10, "code": d["code"], "display": d["name"]}]} for d in diagnoses
    ]
    if reasons:
        resource["reasonCode"] = reasons
    return resource
