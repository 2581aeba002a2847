"""The machine-readable gradebook: grades.jsonl (one notebook a line, every exercise's status, points
and message) and totals.csv (one student a line). The exports, the class report and merging shards
read grades.jsonl, so none of them parses the CSV meant for people."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from labhelpers import gradebook, grading
from labhelpers.gradebook import Result, Row, escape, printable, unescape

VERSION = 1


def row_record(row: Row) -> dict:
    """A row as plain JSON: names escaped (`gradebook.escape`, reversible), text printable."""
    return {"version": VERSION, "student": escape(row.student), "notebook": escape(row.notebook), "lab": row.lab,
            "status": row.status, "points": row.points, "max_points": row.max_points, "passed": row.passed,
            "exercises": [{"label": label, "status": result.status, "points": row.earned(label),
                           "max_points": row.worth(label), "score": result.score, "message": printable(result.message)}
                          for label, result in row.results.items()],
            "notes": [printable(note) for note in row.notes], "seconds": row.seconds}


def record_row(record: dict) -> Row:
    """The Row a `row_record` was written from (without its source path)."""
    results = {e["label"]: Result(e["status"], e.get("message", ""), float(e.get("score", 0.0)),
                                  float(e["max_points"])) for e in record.get("exercises", [])}
    return Row(unescape(record["student"]), unescape(record["notebook"]), record.get("lab", ""),
               record.get("status", ""), results, list(record.get("notes", [])), float(record.get("seconds", 0.0)))


def write_jsonl(rows: list[Row], path: Path) -> Path:
    """Written whole or not at all (a merge waiting for it never reads half of it)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(json.dumps(row_record(row), ensure_ascii=False, sort_keys=True) + "\n" for row in rows)
    grading.write_atomically(path, text.encode("utf-8"))
    return path


def read_jsonl(path: Path) -> list[Row]:
    with Path(path).open(encoding="utf-8") as handle:
        return [record_row(json.loads(line)) for line in handle if line.strip()]


def jsonl_beside(csv_path: Path) -> Path:
    """Where `grade` writes the JSONL of a CSV gradebook: grades.csv -> grades.jsonl."""
    return Path(csv_path).with_suffix(".jsonl")


def load(path: Path) -> list[Row]:
    """Rows from grades.jsonl, or from grades.csv when the JSONL beside it is missing (then without
    messages: the CSV holds statuses and points only)."""
    path = Path(path)
    if path.suffix != ".jsonl" and jsonl_beside(path).exists():
        path = jsonl_beside(path)
    if path.suffix == ".jsonl":
        return read_jsonl(path)
    rows = []
    with path.open(encoding="utf-8", newline="") as handle:
        for line in csv.DictReader(handle):
            line = {key: _uncell(value) for key, value in line.items()}
            labels = [key.removeprefix("points ") for key in line if key.startswith("points ")]
            results = {}
            for label in (label for label in labels if line.get(label)):
                worth = gradebook.points_of(label)
                earned = float(line.get(f"points {label}") or 0.0)
                results[label] = Result(line[label], "", earned / worth if worth else 0.0, worth)
            rows.append(Row(unescape(line["student"]), unescape(line["notebook"]), line.get("lab", ""),
                            line.get("status", ""), results, [n for n in line.get("notes", "").split("; ") if n],
                            float(line.get("seconds") or 0.0)))
    return rows


def _uncell(value: str) -> str:
    """A CSV cell as it was before `gradebook._csv_cell` neutralised a formula."""
    return value[1:] if value and value.startswith("'") and value[1:].startswith(gradebook.FORMULA_START) else value


def write_table(path: Path, header: list, lines: list[list]) -> Path:
    """A CSV whose every cell is neutralised as the gradebook's are (printable, never a formula)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(map(gradebook._csv_cell, header))
        for line in lines:
            writer.writerow(map(gradebook._csv_cell, line))
    return path


def lab_points(rows: list[Row]) -> tuple[list[str], dict[str, float], dict[str, dict[str, float]]]:
    """(the labs seen, each lab's maximum, each student's points per lab). A student with two notebooks
    of one lab gets the better one; a lab not handed in counts 0."""
    labs = sorted({row.lab for row in rows if row.lab})
    maximum = {lab: max(row.max_points for row in rows if row.lab == lab) for lab in labs}
    earned: dict[str, dict[str, float]] = {}
    for row in rows:
        per_lab = earned.setdefault(row.student, {})
        if row.lab:
            per_lab[row.lab] = max(per_lab.get(row.lab, 0.0), row.points)
    return labs, maximum, earned


def write_totals(rows: list[Row], path: Path) -> Path:
    """totals.csv: one line per student, the points of each lab, the total, the maximum and a percentage."""
    labs, maximum, earned = lab_points(rows)
    total_max = round(sum(maximum.values()), 3)
    lines = []
    for student in sorted(earned):
        total = round(sum(earned[student].values()), 3)
        notebooks = sum(row.student == student for row in rows)
        lines.append([escape(student), notebooks, *(earned[student].get(lab, 0.0) for lab in labs), total, total_max,
                      round(100 * total / total_max, 1) if total_max else 0.0])
    return write_table(path, ["student", "notebooks", *labs, "points", "max points", "percent"], lines)


def write_all(rows: list[Row], out: Path, summaries: Path | None = None, totals: Path | None = None) -> list[Path]:
    """Everything `grade` writes for a class: the CSV, its JSONL, totals.csv and the summaries."""
    out = Path(out)
    gradebook.write_csv(rows, out)
    totals = write_totals(rows, totals or out.parent / "totals.csv")
    written = gradebook.write_summaries(rows, summaries or out.parent / "summaries")
    return [out, write_jsonl(rows, jsonl_beside(out)), totals, *written]  # the JSONL last: a merge waits for it
