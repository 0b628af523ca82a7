"""``python -m benchmarks compare BEFORE AFTER``: the before/after tables of docs/benchmarks.md.

Both files are results of a run (``--output``), of this harness or of the one before issue 15
(``mercato bench run --output``): the fields read here are the same in both. Checkout's target
is relative to the code before a change: completions/s and full checkouts/s at most 10 % lower,
both runs made in the same minutes on the same machine.
"""

from __future__ import annotations

from typing import Any

CHECKOUT_TOLERANCE = 0.10


def change(before: float, after: float) -> str:
    """The change from ``before`` to ``after`` in percent of ``before``."""
    if not before:
        return "n/a"
    return f"{(after - before) / before * 100:+.1f} %"


def within_tolerance(before: float, after: float) -> bool:
    """A throughput that is at most ``CHECKOUT_TOLERANCE`` lower than before (higher is fine)."""
    return after >= before * (1 - CHECKOUT_TOLERANCE)


def _describe(label: str, path: str, results: dict[str, Any]) -> str:
    d, o = results.get("dataset", {}), results.get("options", {})
    return (
        f"{label}: {path} ({d.get('groups', 0):,} groups, {o.get('workers', '?')} workers, "
        f"at most {o.get('duration', '?')} s / {o.get('max_requests', '?')} requests per case "
        "and level)"
    )


def compare(
    before: dict[str, Any], after: dict[str, Any], names: tuple[str, str] = ("before", "after")
) -> str:
    """Markdown tables: each read case present in both at each client level present in both,
    then checkout's throughputs against their target."""
    lines = [_describe("Before", names[0], before), _describe("After", names[1], after)]
    if before.get("dataset") != after.get("dataset"):
        lines.append("The datasets differ: compare runs on the same seed.")
    lines += [
        "",
        "| case | c | p50 ms before | p50 ms after | change | req/s before | req/s after "
        "| change |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    old_reads, new_reads = before.get("reads", {}), after.get("reads", {})
    for name, new in new_reads.items():
        old = old_reads.get(name)
        if old is None:
            continue
        for level, n in new["levels"].items():
            o = old["levels"].get(level)
            if o is None:
                continue
            lines.append(
                f"| {name} | {level} | {o['p50']:.2f} | {n['p50']:.2f} | "
                f"{change(o['p50'], n['p50'])} | {o['rps']:.0f} | {n['rps']:.0f} | "
                f"{change(o['rps'], n['rps'])} |"
            )
    for label, only in (
        ("before", old_reads.keys() - new_reads),
        ("after", new_reads.keys() - old_reads),
    ):
        if only:
            lines.append(f"Only {label}: {', '.join(sorted(only))}")
    old_checkout, new_checkout = before.get("checkout"), after.get("checkout")
    if old_checkout and new_checkout:
        lines += [
            "",
            f"| checkout (per s) | before | after | change | within {CHECKOUT_TOLERANCE * 100:.0f} % |",
            "|---|---:|---:|---:|---|",
        ]
        pairs = [
            ("completions", "completion"),
            ("completions with a promotion", "completion_promotion"),
            ("full checkouts", "full"),
            ("full checkouts with a promotion", "promotion"),
        ]
        for label, key in pairs:
            if key not in old_checkout or key not in new_checkout:
                continue
            o, n = old_checkout[key]["rps"], new_checkout[key]["rps"]
            verdict = "yes" if within_tolerance(o, n) else "no"
            lines.append(f"| {label} | {o:.1f} | {n:.1f} | {change(o, n)} | {verdict} |")
    return "\n".join(lines)
