"""The dispatcher's board: routes with live status, the lone-worker ladder, the map, re-plans.

`watch` (ladder and ordering) and `replan` (planning around visits under way) hold no UI
and import no Textual, so the headless `fieldapp dispatch` commands use them too.
"""
