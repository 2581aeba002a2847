"""Grades for a learning management system, from grades.jsonl (or grades.csv).

    python -m labhelpers export --canvas grades.csv --roster roster.csv --out canvas.csv
    python -m labhelpers export --moodle grades.csv --roster roster.csv --out moodle.csv
    python -m labhelpers export --long grades.csv --out long.csv

The roster (optional) is a CSV with a `student` column (the submission folder's name, as graded) and
any of `name`, `id`, `sis_user_id`, `sis_login_id`, `section`, `email`, `username`. One column per
lab holds the student's points (the better notebook where they handed in two; 0 for a lab not
handed in). Every cell is neutralised against formulas, as in grades.csv.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

from labhelpers import exercises
from labhelpers.gradebook import Row, escape, printable
from labhelpers.platforms import records

ROSTER_COLUMNS = ("name", "id", "sis_user_id", "sis_login_id", "section", "email", "username")


@dataclass
class Roster:
    """Who each graded student (folder name) is in the LMS."""

    people: dict[str, dict[str, str]] = field(default_factory=dict)

    def of(self, student: str) -> dict[str, str]:
        found = self.people.get(student, {})
        return {column: found.get(column, "") for column in ROSTER_COLUMNS}


def read_roster(path: Path | None) -> Roster:
    if path is None:
        return Roster()
    with Path(path).open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        if "student" not in (reader.fieldnames or []):
            raise ValueError(f"{path}: the roster needs a 'student' column (the submission folder's name)")
        return Roster({line["student"]: {k: (v or "").strip() for k, v in line.items() if k} for line in reader})


def assignment_name(lab: str) -> str:
    """A lab's column: "Lab 01: RNN from scratch" for a course lab, its notebook name otherwise."""
    number = re.match(r"(\d+)_", lab)
    if number and number.group(1) in exercises.LABS:
        return f"Lab {number.group(1)}: {exercises.LABS[number.group(1)][0]}"
    return lab


def _students(rows: list[Row], roster: Roster) -> list[str]:
    """Everyone graded, and everyone on the roster (0 points where nothing was handed in)."""
    return sorted({row.student for row in rows} | set(roster.people))


def canvas(rows: list[Row], roster: Roster, out: Path) -> tuple[Path, list[str]]:
    """Canvas' gradebook import: Student, ID, SIS User ID, SIS Login ID, Section, one column per lab,
    under a "Points Possible" row. Returns the file and the students the roster did not know."""
    labs, maximum, earned = records.lab_points(rows)
    header = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", *map(assignment_name, labs)]
    lines = [["Points Possible", "", "", "", "", *(maximum[lab] for lab in labs)]]
    unknown = []
    for student in _students(rows, roster):
        person = roster.of(student)
        if roster.people and student not in roster.people:
            unknown.append(student)
        lines.append([person["name"] or escape(student), person["id"], person["sis_user_id"], person["sis_login_id"],
                      person["section"], *(earned.get(student, {}).get(lab, 0.0) for lab in labs)])
    return records.write_table(out, header, lines), unknown


def moodle(rows: list[Row], roster: Roster, out: Path, identifier: str = "email") -> tuple[Path, list[str]]:
    """Moodle's grade import: one identifier column (the roster's `identifier`, else the folder name),
    one column per lab (a grade item each, mapped when importing)."""
    labs, _, earned = records.lab_points(rows)
    header = [identifier, *map(assignment_name, labs)]
    unknown, lines = [], []
    for student in _students(rows, roster):
        person = roster.of(student) if identifier in ROSTER_COLUMNS else {}
        if roster.people and not person.get(identifier):
            unknown.append(student)
        lines.append([person.get(identifier) or escape(student),
                      *(earned.get(student, {}).get(lab, 0.0) for lab in labs)])
    return records.write_table(out, header, lines), unknown


def long(rows: list[Row], roster: Roster, out: Path) -> Path:
    """One line per student, notebook and exercise: points, maximum, status and the judge's message."""
    header = ["student", "name", "id", "notebook", "lab", "exercise", "points", "max", "status", "message"]
    lines = []
    for row in rows:
        person = roster.of(row.student)
        for label, result in row.results.items():
            lines.append([escape(row.student), person["name"], person["id"], escape(row.notebook), row.lab, label,
                          row.earned(label), row.worth(label), result.status, printable(result.message)])
        if not row.results:
            lines.append([escape(row.student), person["name"], person["id"], escape(row.notebook), row.lab, "",
                          0.0, 0.0, row.status, printable("; ".join(row.notes))])
    return records.write_table(out, header, lines)
