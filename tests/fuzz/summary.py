"""The figures of an infra/fuzz.sh run, from each phase's schemathesis JSON report and the counts
tests/fuzz/hooks.py wrote: operations, requests sent, seconds, what was not sent and why, and the
failures by check. Usage: summary.py DIR NAME [DIR NAME ...] (DIR holds report.json, stats.json).
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from pathlib import Path

import schemathesis.openapi.checks  # noqa: F401 (defines the OpenAPI failure classes)
from schemathesis.core.failures import Failure


def failure_checks() -> dict[str, tuple[str, ...]]:
    """The check(s) behind each failure type the report names (ServerError: not_a_server_error)."""
    found, todo = {}, [Failure]
    while todo:
        cls = todo.pop()
        found[cls.__name__] = tuple(getattr(cls, "checks", ()))
        todo.extend(cls.__subclasses__())
    return found


def check_name(failure: dict, checks: dict[str, tuple[str, ...]]) -> str:
    custom = re.search(r"`([^`]+)`", failure["title"])
    if failure["type"] == "CustomFailure" and custom:
        return custom.group(1)
    return ", ".join(checks.get(failure["type"], ())) or failure["type"]


def load(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return {}


def main() -> None:
    args = sys.argv[1:]
    phases = [(Path(args[i]), args[i + 1]) for i in range(0, len(args), 2)]
    totals: Counter[str] = Counter()
    failures: dict[str, dict] = {}
    errors: Counter[str] = Counter()
    lines = []
    checks = failure_checks()
    for directory, name in phases:
        report, stats = load(directory / "report.json"), load(directory / "stats.json")
        if not report:
            lines.append(f"    {name}: no report (schemathesis did not finish)")
            errors[f"{name}: no report"] += 1
            continue
        tested = report["operations"]["tested"]
        requests, seconds = stats.get("requests", 0), stats.get("seconds", 0.0)
        lines.append(
            f"    {name}: {tested} operations, {report['test_cases']['generated']} test cases, "
            f"{requests} requests, {seconds:.0f} s (stopped: {report['stop_reason']})"
        )
        totals["requests"] += requests
        totals["seconds"] += seconds
        totals["operations"] += tested  # the phases fuzz disjoint sets of operations
        for key, value in stats.items():
            if key.startswith(("dropped: ", "tolerated: ", "table ", "refusals ")):
                totals[key] += value
        for failure in report.get("failures", []):
            entry = failures.setdefault(
                f"{check_name(failure, checks)} ({failure['code']} {failure['title']})",
                {"count": 0, "operations": set()},
            )
            entry["count"] += failure["count"]
            entry["operations"].update(f"{o} ({name})" for o in failure["operations"])
        for error in report.get("errors", []):
            errors[f"{error['title']} ({name})"] += error["count"]

    print(
        f"==> fuzz figures: {totals['operations']} operations, {totals['requests']} requests, "
        f"{totals['seconds']:.0f} s"
    )
    print("\n".join(lines))
    scans, scan_ms = totals["table scans"], totals["table scan ms"]
    print(
        f"    4xx answers compared with the table: {totals['refusals compared with the table']} "
        f"({scans} scans, {scan_ms / 1000:.0f} s)"
    )
    dropped = {k.removeprefix("dropped: "): v for k, v in totals.items() if k.startswith("dropped: ")}
    for reason, count in sorted(dropped.items()):
        print(f"    not sent: {count} generated cases, {reason}")
    tolerated = {k.removeprefix("tolerated: "): v for k, v in totals.items() if k.startswith("tolerated: ")}
    for what, count in sorted(tolerated.items()):
        print(f"    not failed: {count} x {what} (moto too slow; see tests/fuzz/hooks.py)")
    if failures:
        print("    failures by check:")
        for title, entry in sorted(failures.items()):
            print(f"      {title}: {entry['count']} ({', '.join(sorted(entry['operations']))})")
    else:
        print("    failures by check: none")
    for title, count in sorted(errors.items()):
        print(f"    error: {title}: {count}")


if __name__ == "__main__":
    main()
