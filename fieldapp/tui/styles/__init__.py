"""Each screen's own stylesheet, read into the app's when the first screen that needs it opens.

`fieldapp.tcss` holds what the launch shows (the lock, today's list) and every dialog;
the rules of the other screens are in this folder, one file per screen or kind of screen.
A screen names the files it needs in `STYLES`; the app reads them as it opens the screen
(`FieldApp.push_screen`, `switch_screen`), before the screen's widgets are styled. The
launch parsed and matched some 360 rules for the two dozen its first screen uses (about
50 million instructions of it, `benchmarks/launch_instructions.py`); opening a screen
the first time parses its own file only (Textual keeps the others parsed).

Rules read this way rank exactly as if they were in `fieldapp.tcss` (user rules, above
every widget's defaults). A file's rules name only ids and classes of the screens that
list it, so screens already on show never need restyling when it is read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

FOLDER = Path(__file__).resolve().parent


def load_styles(app: Any, screen: object) -> None:
    """Read into `app`'s stylesheet the files `screen` names in `STYLES` (its class's)
    that it does not hold yet."""
    stylesheet = app.stylesheet
    for name in getattr(screen, "STYLES", ()):
        path = FOLDER / name
        if not stylesheet.has_source(str(path)):
            # `add_source`, not `read`: it also drops the rules map Textual looks rules up in.
            css = path.read_text(encoding="utf-8")
            stylesheet.add_source(css, read_from=(str(path), ""), is_default_css=False)
