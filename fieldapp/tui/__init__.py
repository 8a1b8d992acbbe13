"""The clinician's terminal app (Textual): screens, widgets and styles."""
