"""Synthetic demo data: nothing here describes a real person."""
