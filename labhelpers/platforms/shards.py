"""Grading one class on several machines: each grades a deterministic share (a shard) of the students,
and the shards' grades.jsonl merge into the gradebook one run would have written.

    python -m labhelpers grade SUBMISSIONS --shard 2/8 --out shard-2/grades.csv
    python -m labhelpers grade --merge grades.csv shard-0 shard-1 ... shard-7

A student's shard is a stable hash of their name (SHA-256, not Python's salted hash), so all of one
student's notebooks land on one shard (the notes comparing them stay right) and any machine computes
the same split. Shards are numbered from 0, as Kubernetes' JOB_COMPLETION_INDEX is.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from labhelpers.platforms import records


def parse(text: str) -> tuple[int, int]:
    """"I/N" -> (I, N), with 0 <= I < N."""
    index, _, count = text.partition("/")
    try:
        index, count = int(index), int(count)
    except ValueError:
        raise ValueError(f"a shard is I/N, e.g. 0/4, not {text!r}") from None
    if not 0 <= index < count:
        raise ValueError(f"shard {text}: I must be in 0..N-1")
    return index, count


def shard_of(student: str, count: int) -> int:
    digest = hashlib.sha256(student.encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "big") % count


def selector(index: int, count: int):
    """The `only` of gradebook.grade_folder for one shard."""
    return lambda student: shard_of(student, count) == index


def shard_file(path: Path) -> Path:
    """A shard's grades.jsonl: the path itself, or the one JSONL in a shard's folder."""
    path = Path(path)
    if path.is_dir():
        found = sorted(path.glob("*.jsonl"))
        if len(found) != 1:
            raise ValueError(f"{path}: expected one .jsonl gradebook, found {len(found)}")
        return found[0]
    return records.jsonl_beside(path) if path.suffix == ".csv" else path


def merge(shards: list[Path]) -> list:
    """The rows of every shard, in the order one run writes them (by student, then notebook)."""
    rows = [row for shard in shards for row in records.read_jsonl(shard_file(shard))]
    return sorted(rows, key=lambda r: (r.student, r.notebook))
