"""Where `make test`'s time went: seconds per test file (per notebook for the nbval runs), from the
JUnit records the last `make test` left in .seqlab/ (suite.xml: the suite; backend-runs.xml: the JAX and
PyTorch runs beside it). The two halves share the machine's cores, so a file's seconds are its wall time
beside the other half, not alone.

    python bench/test_times.py [--top 25]
"""

from __future__ import annotations

import argparse
import collections
import xml.etree.ElementTree as ElementTree
from pathlib import Path

RECORDS = Path(__file__).resolve().parent.parent / ".seqlab"
HALVES = {"suite.xml": "the suite", "backend-runs.xml": "JAX and PyTorch runs beside it"}


def seconds_by_file(record: Path) -> collections.Counter:
    """{test module or notebook (with its parameter for the backend runs): seconds} from one JUnit record."""
    totals: collections.Counter = collections.Counter()
    for case in ElementTree.parse(record).iter("testcase"):
        where = case.get("classname", "?")  # tests.test_x, or solutions.NN_lab.ipynb for an nbval run
        if where.endswith("test_backend_runs"):
            where = f"{where}[{case.get('name', '').partition('[')[2].rstrip(']')}]"
        totals[where] += float(case.get("time", 0))
    return totals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top", type=int, default=25)
    top = parser.parse_args().top
    found = False
    for name, half in HALVES.items():
        record = RECORDS / name
        if not record.exists():
            continue
        found = True
        totals = seconds_by_file(record)
        print(f"{half} ({name}): {sum(totals.values()):.0f} s in {len(totals)} files")
        for where, seconds in totals.most_common(top):
            print(f"  {seconds:8.1f} s  {where}")
    if not found:
        print(f"no record in {RECORDS}: run `make test` first")


if __name__ == "__main__":
    main()
