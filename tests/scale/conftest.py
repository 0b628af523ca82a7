"""The scale-out test's skip reasons are printed in every run's summary, without ``-rs``: a
skipped leg must say which server it could not reach."""

from __future__ import annotations

import pytest


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for report in terminalreporter.stats.get("skipped", []):
        if report.nodeid.startswith("tests/scale/"):
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
            terminalreporter.write_line(f"SKIPPED {report.nodeid}: {reason}")
