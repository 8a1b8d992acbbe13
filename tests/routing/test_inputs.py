"""visits.csv and clinicians.csv: good rows read, bad rows named by row, column and problem."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from fieldapp.errors import PlanInputError
from fieldapp.routing.inputs import read_clinicians, read_visits
from fieldapp.routing.matrix import read_matrix_csv

from .days import DAY, at

VISIT_HEADER = (
    "id,patient,address,lat,lon,earliest,latest,duration_min,skills,planned_dose_mg,flags\n"
)
CLINICIAN_HEADER = (
    "id,name,start_place,end_place,start_lat,start_lon,end_lat,end_lon,shift_start,shift_end,"
    "skills,stock_mg,max_visits,escort,break_min,break_earliest,break_latest\n"
)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_good_visit_rows_are_read(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "visits.csv",
        VISIT_HEADER
        + "V1,Demo Patient 01,,47.6,-122.3,09:00,11:00,120,MD; lang:es,42.5,first_infusion;escort\n"
        + 'V2,Demo Patient 02,"1 Main St, Seattle",,,2025-03-04T13:00,2025-03-04T15:00,90,,,\n',
    )
    visits, problems = read_visits(path, DAY)
    assert problems == []
    first, second = visits
    assert first.earliest == at(9) and first.latest == at(11)
    assert first.skills == {"MD", "lang:es"} and first.flags == {"first_infusion", "escort"}
    assert first.dose_cmg == 4250 and first.place is not None
    assert second.place is None and second.address == "1 Main St, Seattle"
    assert second.earliest == at(13) and second.row == 3


@pytest.mark.parametrize(
    ("row", "column", "problem"),
    [
        ("V1,P,,47.6,-122.3,9am,11:00,120,,,", "earliest", "not HH:MM"),
        ("V1,P,,47.6,-122.3,11:00,09:00,120,,,", "latest", "before earliest"),
        ("V1,P,,47.6,-122.3,09:00,11:00,two hours,,,", "duration_min", "not a number"),
        ("V1,P,,47.6,-122.3,09:00,11:00,0,,,", "duration_min", "more than 0"),
        ("V1,P,,47.6,,09:00,11:00,120,,,", "lon", "other coordinate"),
        ("V1,P,,97.6,-122.3,09:00,11:00,120,,,", "lat", "between -90 and 90"),
        ("V1,P,,,,09:00,11:00,120,,,", "address", "lat/lon are not given"),
        ("V1,P,,47.6,-122.3,09:00,11:00,120,,-5,", "planned_dose_mg", "≥ 0"),
        (",P,,47.6,-122.3,09:00,11:00,120,,,", "id", "empty"),
    ],
)
def test_bad_visit_row_names_row_column_problem_and_rest_is_kept(
    tmp_path: Path, row: str, column: str, problem: str
) -> None:
    good = "V0,Demo Patient 00,,47.6,-122.3,09:00,11:00,120,,,\n"
    path = write(
        tmp_path, "visits.csv", VISIT_HEADER + good + row + "\n" + good.replace("V0", "V9")
    )
    visits, problems = read_visits(path, DAY)
    assert [v.id for v in visits] == ["V0", "V9"]
    assert len(problems) == 1
    assert (problems[0].file, problems[0].row, problems[0].column) == ("visits.csv", 3, column)
    assert problem in problems[0].problem
    assert str(problems[0]).startswith("visits.csv row 3, column ")


def test_repeated_visit_id_is_reported(tmp_path: Path) -> None:
    row = "V1,P,,47.6,-122.3,09:00,11:00,120,,,\n"
    visits, problems = read_visits(write(tmp_path, "v.csv", VISIT_HEADER + row + row), DAY)
    assert len(visits) == 1
    assert (problems[0].row, problems[0].column) == (3, "id")


def test_missing_required_column_stops_with_the_column_name(tmp_path: Path) -> None:
    path = write(tmp_path, "visits.csv", "id,patient,lat,lon,earliest\nV1,P,1,2,09:00\n")
    with pytest.raises(PlanInputError, match=r"row 1: missing column\(s\) latest, duration_min"):
        read_visits(path, DAY)


def test_clinician_rows_with_breaks_and_escort(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "clinicians.csv",
        CLINICIAN_HEADER
        + "C1,Demo A,Clinic,,47.59,-122.31,,,08:00,17:00,MD;RN,300,4,yes,30,11:30,13:30\n"
        + "C2,Demo B,Home-C2,Clinic,47.6,-122.3,47.59,-122.31,08:00,17:00,RN,200,3,,,,\n"
        + "C3,Demo C,Clinic,,47.59,-122.31,,,17:00,08:00,RN,200,3,no,,,\n"
        + "C4,Demo D,Clinic,,47.59,-122.31,,,08:00,17:00,RN,200,3,maybe,,,\n"
        + "C5,Demo E,Clinic,,47.59,-122.31,,,08:00,17:00,RN,200,3.5,no,,,\n"
        + "C6,Demo F,Clinic,,47.59,-122.31,,,08:00,17:00,RN,200,3,no,60,12:00,12:30\n"
        + "C7,Demo G,Clinic,,47.59,-122.31,,,07:00,11:00,RN,200,3,no,30,12:00,13:30\n",
    )
    clinicians, problems = read_clinicians(path, DAY)
    assert [c.id for c in clinicians] == ["C1", "C2"]
    c1, c2 = clinicians
    assert c1.escort and c1.lunch is not None and c1.lunch.minutes == 30
    assert c1.end_place == "Clinic" and c1.end == c1.start
    assert c2.lunch is None and not c2.escort and c2.end_place == "Clinic"
    assert [(p.row, p.column) for p in problems] == [
        (4, "shift_end"),
        (5, "escort"),
        (6, "max_visits"),
        (7, "break_latest"),
        (8, "break_earliest"),
    ]


LA = ZoneInfo("America/Los_Angeles")


def test_times_with_z_or_an_offset_are_converted_to_the_clinic_zone(tmp_path: Path) -> None:
    """17:00Z on 4 March 2025 is 09:00 in Seattle (PST, UTC-8); 18:30+01:00 is 09:30."""
    path = write(
        tmp_path,
        "visits.csv",
        VISIT_HEADER
        + "V1,Demo Patient 01,,47.6,-122.3,2025-03-04T17:00Z,2025-03-04T19:00:00+00:00,60,,,\n"
        + "V2,Demo Patient 02,,47.6,-122.3,2025-03-04T18:30+01:00,2025-03-04T11:00,60,,,\n",
    )
    (first, second), problems = read_visits(path, DAY, LA)
    assert problems == []
    assert (first.earliest, first.latest) == (at(9), at(11))
    assert (second.earliest, second.latest) == (at(9, 30), at(11))


def test_an_offset_without_a_clinic_zone_is_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path, "v.csv", VISIT_HEADER + "V1,P,,47.6,-122.3,2025-03-04T17:00Z,19:00,60,,,\n"
    )
    visits, problems = read_visits(path, DAY)
    assert visits == [] and problems[0].column == "earliest"


def test_a_row_dated_another_day_is_an_input_problem(tmp_path: Path) -> None:
    """23:30Z on 4 March is 15:30 in Seattle (kept); 09:00Z on 4 March is 01:00 (kept);
    a visit on the 5th, or that only lands on the 5th once converted, is a bad row."""
    path = write(
        tmp_path,
        "visits.csv",
        VISIT_HEADER
        + "V1,P,,47.6,-122.3,2025-03-05T09:00,2025-03-05T11:00,60,,,\n"
        + "V2,P,,47.6,-122.3,2025-03-04T23:30Z,2025-03-05T09:00Z,60,,,\n"
        + "V3,P,,47.6,-122.3,2025-03-04T23:30Z,2025-03-04T23:45Z,60,,,\n",
    )
    visits, problems = read_visits(path, DAY, LA)
    assert [v.id for v in visits] == ["V3"]
    assert [(p.row, p.column, p.problem) for p in problems] == [
        (2, "earliest", "is on 2025-03-05, not the planning day 2025-03-04"),
        (3, "latest", "is on 2025-03-05, not the planning day 2025-03-04"),
    ]


def test_stock_must_be_given_or_explicitly_unlimited(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "clinicians.csv",
        CLINICIAN_HEADER
        + "C1,Demo A,Clinic,,47.59,-122.31,,,08:00,17:00,RN,,4,no,,,\n"
        + "C2,Demo B,Clinic,,47.59,-122.31,,,08:00,17:00,RN,unlimited,4,no,,,\n"
        + "C3,Demo C,Clinic,,47.59,-122.31,,,08:00,17:00,RN,0,4,no,,,\n"
        + "C4,Demo D,Clinic,,47.59,-122.31,,,08:00,17:00,RN,99.999,4,no,,,\n",
    )
    clinicians, problems = read_clinicians(path, DAY)
    assert [(c.id, c.stock_cmg) for c in clinicians] == [("C2", None), ("C3", 0)]
    assert [(p.row, p.column) for p in problems] == [(2, "stock_mg"), (5, "stock_mg")]
    assert "unlimited" in problems[0].problem and "two decimals" in problems[1].problem


def test_a_semicolon_file_gets_a_separator_hint(tmp_path: Path) -> None:
    path = write(tmp_path, "visits.csv", VISIT_HEADER.replace(",", ";") + "V1;P;;1;2;09:00\n")
    with pytest.raises(PlanInputError, match="separated by semicolons"):
        read_visits(path, DAY)


def test_an_unquoted_comma_is_a_cell_count_problem_not_a_bad_time(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "visits.csv",
        VISIT_HEADER
        + "V1,Patient, Demo,,47.6,-122.3,09:00,11:00,120,,,\n"
        + "V2,Demo Patient 02,,47.6,-122.3,09:00,11:00,120,,,\n",
    )
    visits, problems = read_visits(path, DAY)
    assert [v.id for v in visits] == ["V2"]
    assert (problems[0].row, problems[0].column) == (2, "(row)")
    assert problems[0].problem == (
        "has 12 cells but the header has 11 columns (a value holding a comma must be in "
        "double quotes)"
    )


def test_safety_notes_are_category_and_level(tmp_path: Path) -> None:
    header = VISIT_HEADER.rstrip("\n") + ",safety\n"
    path = write(
        tmp_path,
        "visits.csv",
        header
        + "V1,P,,47.6,-122.3,09:00,11:00,120,,,,weapons:high; aggressive_animals:low\n"
        + "V2,P,,47.6,-122.3,09:00,11:00,120,,,,weapons:extreme\n"
        + "V3,P,,47.6,-122.3,09:00,11:00,120,,,,has a gun\n",
    )
    visits, problems = read_visits(path, DAY)
    assert visits[0].safety == {("weapons", "high"), ("aggressive_animals", "low")}
    assert [(p.row, p.column) for p in problems] == [(3, "safety"), (4, "safety")]
    assert problems[0].problem == "each note is category:level, the level one of low, medium, high"


@pytest.mark.parametrize("kind", ["visits", "matrix"])
def test_a_file_in_another_encoding_is_a_sentence_not_a_traceback(
    tmp_path: Path, kind: str
) -> None:
    """A spreadsheet's plain "CSV" in Latin-1: decoding failed mid-read, a traceback."""
    path = tmp_path / f"{kind}.csv"
    if kind == "visits":
        path.write_bytes(
            (VISIT_HEADER + "V1,Zo\xeb Demo,,47.6,-122.3,09:00,11:00,120,,,\n").encode("latin-1")
        )
        call = lambda: read_visits(path, DAY)  # noqa: E731
    else:
        path.write_bytes("from,to,minutes,km\nd\xe9p\xf4t,V1,10,5\n".encode("latin-1"))
        call = lambda: read_matrix_csv(path, ["V1"])  # noqa: E731
    with pytest.raises(PlanInputError, match="not UTF-8 text") as refused:
        call()
    assert "Zo" not in str(refused.value) and "p\xf4t" not in str(refused.value)


def test_a_cell_past_the_csv_limit_names_its_row(tmp_path: Path) -> None:
    huge = "x" * 200_000  # past the csv module's field limit: csv.Error escaped
    path = write(
        tmp_path, "visits.csv", VISIT_HEADER + f"V1,{huge},,47.6,-122.3,09:00,11:00,120,,,\n"
    )
    with pytest.raises(PlanInputError, match=r"visits\.csv row 2: not readable as CSV"):
        read_visits(path, DAY)
