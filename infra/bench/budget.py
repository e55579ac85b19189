"""The bench guards itself: `make bench` ends here. Reads the figures it wrote
(target/bench/figures.json from bench.py, target/bench/cost.json from tests/examples/flow_cost.rs),
compares each with infra/bench/budget.json, prints one line per figure, writes docs/figures.md
(the tables docs/performance.md points to, with the command and the date), and exits 1 when any figure is
over its budget.

Usage: python3 infra/bench/budget.py [--no-page]"""
import datetime
import json
import os
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "bench")


def load(path):
    with open(path) as f:
        return json.load(f)


def check(figures, cost, budget):
    """(ok, lines): a line per budgeted figure."""
    lines, ok = [], True

    def compare(name, value, limit, at_least=False):
        nonlocal ok
        good = value >= limit if at_least else value <= limit
        ok &= good
        sign = ">=" if at_least else "<="
        lines.append(f"{'ok  ' if good else 'OVER'} {name}: {value} (budget {sign} {limit})")

    per_function = budget["functions"]
    slack = budget["first_request_slack"]
    for fn, got in figures["functions"].items():
        for figure, limit in per_function.items():
            compare(f"{fn} {figure}", got[figure], limit)
        # The first request after init is no slower than the tenth (within timer noise): init
        # did what the first request needs.
        compare(f"{fn} first request ms (the 10th's, plus slack)", got["first_request_ms"],
                round(got["tenth_request_ms"] * (1 + slack["fraction_of_tenth"]) + slack["ms"], 1))
    compare("boto3 init / ours", figures["boto3_over_ours"], budget["boto3_over_ours_at_least"], at_least=True)
    for flow, limits in budget["flows"].items():
        for figure, limit in limits.items():
            compare(f"{flow} {figure}", cost[flow][figure], limit)
    return ok, lines


def targets(figures, cost, budget):
    """A line per product target: met or missed (a missed target does not fail the run)."""
    lines = []

    def compare(name, value, limit, at_least=False):
        good = value >= limit if at_least else value <= limit
        sign = ">=" if at_least else "<="
        lines.append(f"{'met   ' if good else 'MISSED'} {name}: {value} (target {sign} {limit})")

    goals = budget.get("targets", {})
    for fn, got in figures["functions"].items():
        for figure, limit in goals.get("functions", {}).items():
            compare(f"{fn} {figure}", got[figure], limit)
    if "boto3_over_ours_at_least" in goals:
        compare("boto3 init / ours", figures["boto3_over_ours"], goals["boto3_over_ours_at_least"], at_least=True)
    for flow, limits in goals.get("flows", {}).items():
        for figure, limit in limits.items():
            compare(f"{flow} {figure}", cost[flow][figure], limit)
    return lines


def page(figures, cost, lines, goals):
    today = datetime.date.today().isoformat()
    out = [
        "# Measured figures",
        "",
        f"Written by `make bench` on {today} on the project's 2-core machine (local stack: moto on",
        "loopback, release binaries as Lambda runs them); not edited by hand. Each is checked against",
        "`infra/bench/budget.json`, and `make bench` fails when one is over.",
        "",
        f"## Cold start and size ({figures['starts']} starts per function)",
        "",
        "Init is process start to the first request for work (Lambda's Init Duration), against moto.",
        "Own init is the function's own work: the same, against a stand-in that answers init's AWS calls",
        "at once with what moto answered (`infra/bench/standin.py`), less the harness's floor. The floor",
        f"({figures['floor_ms']} ms this run) is the init of a process that asks for work as soon as it",
        "starts and does nothing else (`infra/bench/floor.rs`): process creation on this machine and the",
        "local runtime API's time to note the call, which any function pays here. Raw is before that.",
        "",
        "| function | init median (ms) | own init (ms) | own init, raw (ms) | 1st request (ms) | 10th request (ms) | peak RSS (MiB) | binary (MiB) | zip (MiB) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for fn, f in figures["functions"].items():
        out.append(f"| {fn} | {f['init_ms']} | {f['own_init_ms']} | {f['own_init_raw_ms']} | {f['first_request_ms']} | {f['tenth_request_ms']} | "
                   f"{f['peak_rss_mib']} | {f['binary_mib']} | {f['zip_mib']} |")
    out += ["", f"Python 3 + boto3 with the same three clients and key read: {figures['boto3_init_ms']} ms "
                f"init, {figures['boto3_over_ours']}x ours (median of the five; each round of starts "
                f"starts every function and then the boto3 handler once).", "",
            "## Warm routes", "", "| route | median (ms) | p99 (ms) | process CPU (ms) |", "|---|---|---|---|"]
    for route, r in figures["routes"].items():
        out.append(f"| {route} | {r['median_ms']} | {r['p99_ms']} | {r['cpu_ms']} |")
    out += ["", "## AWS requests and cost per 1M (tests/examples/flow_cost.rs)", "",
            "| flow | HTTP requests | AWS requests | RRU | WRU | $ per 1M |", "|---|---|---|---|---|---|"]
    for flow, c in cost.items():
        out.append(f"| {flow} | {c['http_requests']} | {c['aws_requests']} | {c['read_units']} | "
                   f"{c['write_units']} | {c['dollars_per_million']:.2f} |")
    out += ["", "## Against the budget", "", "```"] + lines + ["```", "",
            "## Against the targets (reported; a missed target does not fail the run)", "", "```"] + goals + ["```", ""]
    return "\n".join(out)


def main():
    figures = load(os.path.join(OUT, "figures.json"))
    cost = load(os.path.join(OUT, "cost.json"))
    budget = load(os.path.join(ROOT, "infra", "bench", "budget.json"))
    ok, lines = check(figures, cost, budget)
    goals = targets(figures, cost, budget)
    print("\n".join(lines))
    print("\n".join(goals))
    if "--no-page" not in sys.argv:
        os.makedirs(os.path.join(ROOT, "docs"), exist_ok=True)
        with open(os.path.join(ROOT, "docs", "figures.md"), "w") as f:
            f.write(page(figures, cost, lines, goals))
    if not ok:
        print("bench: a figure is over its budget (infra/bench/budget.json)", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
