"""Calendar arithmetic the rules need (defined in `sync.dates`, which the server shares)."""

from sync.dates import add_business_days, add_months, add_years

__all__ = ["add_business_days", "add_months", "add_years"]
