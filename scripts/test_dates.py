"""Issue 20: the date-sensitive tests (marker `dates`) on several days across the coming year, one pytest run
per day with RAMFLOW_TEST_TODAY (tests/clock.py). `make test-dates`; `python -m scripts.test_dates
2027-03-31T23:30 ...` for given days (local time, the municipalities'). The default days are the next
occurrences of a new year just after midnight, a quarter's last evening, a tertial's first night,
midsummer's working day and a year's last evening: the turns of months, tertials and years, local and UTC
on different days. Prints one line per day and exits non-zero if any day failed."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from datetime import date, datetime
from pathlib import Path

from tests.clock import DATE_SENSITIVE

ROOT = Path(__file__).resolve().parents[1]

DAYS = ((1, 1, "00:30"), (3, 31, "23:30"), (5, 1, "00:30"), (6, 15, "10:00"), (12, 31, "23:30"))


def next_days(today: date) -> list[str]:
    """The next occurrence (after today) of each of DAYS, in date order."""
    found = []
    for month, day, at in DAYS:
        year = today.year if date(today.year, month, day) > today else today.year + 1
        found.append(f"{date(year, month, day).isoformat()}T{at}")
    return sorted(found)


def main(argv: list[str]) -> int:
    days = argv or next_days(datetime.now().date())
    failed, counts = [], {"passed": 0, "failed": 0, "skipped": 0}
    for day in days:
        started = time.monotonic()
        run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-m", "dates", "-p", "no:cacheprovider",
                              *(f"tests/{path}" for path in DATE_SENSITIVE)], cwd=ROOT,
                             env=os.environ | {"RAMFLOW_TEST_TODAY": day}, capture_output=True, text=True)
        summary = (run.stdout.strip().splitlines() or ["(no output)"])[-1]
        print(f"RAMFLOW_TEST_TODAY={day}: {summary} ({time.monotonic() - started:.0f} s wall)", flush=True)
        for number, word in re.findall(r"(\d+) (passed|failed|skipped|errors?)", summary):
            counts["failed" if word.startswith("error") else word] += int(number)
        if run.returncode != 0:
            failed.append(day)
            print(run.stdout[-6000:], run.stderr[-2000:], sep="\n", flush=True)
    print(f"{len(days) - len(failed)} of {len(days)} days passed" + (f"; failed: {', '.join(failed)}" if failed else ""))
    if failed and not counts["failed"]:
        counts["failed"] = len(failed)  # a day that ended without a summary line (a crash) still counts
    # the plain closing line CI reads: the date-sensitive tests over all days
    print(f"dates: {counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
