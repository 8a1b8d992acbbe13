"""Device side of sync (being built)."""
