"""Writing a report: CSV for auditors' tools, PDF (fpdf2) for signature.

CSV: a folder with `summary.csv` (the header's facts) and one file per section, every
row naming its record ids. PDF: the header, each section as a table, the record ids behind
each figure in a trace table under it, and signature lines. Both hold patient names (DEA
records must), so files are created readable by their owner only (0600).
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

from fpdf import FPDF
from fpdf.fonts import FontFace

from sync.server.reports.table import Report, Section

_PRIVATE = 0o600


def _private(path: Path) -> int:
    """A new file opened for writing, readable by its owner only."""
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, _PRIVATE)


def write_csv(report: Report, folder: Path) -> list[Path]:
    """Write `summary.csv` and one CSV per section into `folder`; returns the files."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    summary = folder / "summary.csv"
    with os.fdopen(_private(summary), "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["field", "value"])
        writer.writerow(["report", report.title])
        writer.writerows(report.header.items())
        writer.writerows([f"rows in {s.name}.csv", len(s.rows)] for s in report.sections)
    written.append(summary)
    for section in report.sections:
        path = folder / f"{section.name}.csv"
        with os.fdopen(_private(path), "w", newline="", encoding="utf-8") as handle:
            table = csv.DictWriter(handle, fieldnames=section.columns)
            table.writeheader()
            table.writerows(section.rows)
        written.append(path)
    return written


def _latin1(text: str) -> str:
    """The PDF's core fonts hold Latin-1 only; anything else is shown as '?'."""
    return text.encode("latin-1", "replace").decode("latin-1")


class _Pdf(FPDF):
    def __init__(self, title: str) -> None:
        super().__init__(orientation="landscape", unit="mm", format="letter")
        self.report_title = _latin1(title)
        self.set_auto_page_break(auto=True, margin=12)
        self.set_margins(10, 10, 10)

    def footer(self) -> None:
        self.set_y(-10)
        self.set_font("Helvetica", size=7)
        self.cell(0, 5, f"{self.report_title} - page {self.page_no()} of {{nb}}", align="C")


def write_pdf(report: Report, path: Path) -> Path:
    """Write the report as a PDF for signature."""
    pdf = _Pdf(report.title)
    pdf.alias_nb_pages()
    pdf.add_page()
    pdf.set_font("Helvetica", style="B", size=14)
    pdf.cell(0, 8, _latin1(report.title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=8)
    with pdf.table(col_widths=(45, 210), first_row_as_headings=False, text_align="LEFT") as t:
        for key, value in report.header.items():
            row = t.row()
            row.cell(_latin1(key), style=FontFace(emphasis="B"))
            row.cell(_latin1(value))
    for section in report.sections:
        _section(pdf, section)
    _signatures(pdf, report.signatures)
    with os.fdopen(_private(path), "wb") as handle:
        handle.write(bytes(pdf.output()))
    return path


def _section(pdf: FPDF, section: Section) -> None:
    pdf.ln(4)
    pdf.set_font("Helvetica", style="B", size=10)
    pdf.multi_cell(0, 5, _latin1(section.title), new_x="LMARGIN", new_y="NEXT")
    if not section.rows:
        pdf.set_font("Helvetica", style="I", size=8)
        pdf.cell(0, 5, "none in this period", new_x="LMARGIN", new_y="NEXT")
        return
    columns = section.shown_columns()
    pdf.set_font("Helvetica", size=6 if len(columns) > 10 else 7)
    with pdf.table(text_align="LEFT", line_height=3) as table:
        table.row([col.replace("_", " ") for col in columns])
        for cells in section.rows:
            table.row([_latin1(cells[col]) for col in columns])
    traces = section.trace_columns()
    if traces:
        _trace(pdf, section, traces)


def _trace(pdf: FPDF, section: Section, traces: list[str]) -> None:
    """The record ids behind each figure of a section: one row per figure."""
    key = section.columns[0]
    pdf.ln(2)
    pdf.set_font("Helvetica", style="B", size=7)
    pdf.cell(0, 4, "Ledger records behind each figure", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Courier", size=6)
    with pdf.table(col_widths=(30, 35, 190), text_align="LEFT", line_height=3) as table:
        table.row([key, "figure", "record ids"])
        for cells in section.rows:
            for column in traces:
                if cells[column]:
                    table.row([_latin1(cells[key]), column, cells[column]])


def _signatures(pdf: FPDF, who: list[str]) -> None:
    pdf.ln(8)
    pdf.set_font("Helvetica", size=9)
    pdf.cell(0, 5, "I certify that these records are true and complete.")
    pdf.ln(10)
    for role in who:
        line = f"{role}: signature ______________________  printed name ____________________"
        pdf.cell(0, 6, f"{line}  date __________", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(4)
