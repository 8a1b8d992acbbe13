"""FHIR R4 (US Core) export of the clinic's records."""
