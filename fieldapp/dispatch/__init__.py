"""What the dispatcher's own process does: watch the day and re-plan it (no UI here)."""
