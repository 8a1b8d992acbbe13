"""The text every record field holds: what any database of ours can store."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError


def _storable(value: str) -> str:
    # PostgreSQL stores no NUL in text or JSON; a lone surrogate (which has no UTF-8 form)
    # pydantic refuses already. A record that cannot be stored is refused when it is made.
    if "\x00" in value:
        raise PydanticCustomError("unstorable_text", "must not contain a NUL character")
    return value


Text = Annotated[str, AfterValidator(_storable)]
"""Any text in a record: every string field uses it (or a type built on it)."""
