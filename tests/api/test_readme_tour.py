"""The README's tour is what a new user copies into a shell: it runs as written, and again.

Its shell blocks run twice, each time in a fresh ``bash -euo pipefail``, against ``mercato serve``
on a database of its own (migrated, as ``make run`` leaves it), with only the server's address and
the ``mercato`` command replaced by this test run's.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.api.processes import MERCATO, MercatoServer, mercato_env

README = Path(__file__).resolve().parents[2] / "README.md"
# A Python traceback, an HTTP error body, or anything else saying "error" (an HTTP 500's text).
FAILURE = re.compile(r'Traceback|error|\{"type":\s*"[a-z_]+",\s*"message":', re.IGNORECASE)

pytestmark = pytest.mark.skipif(
    not (shutil.which("bash") and shutil.which("curl")), reason="the tour needs bash and curl"
)


def tour_blocks() -> list[str]:
    """The ``sh`` blocks of the README's "A short tour" section and its subsections."""
    section = README.read_text().split("\n## A short tour\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^```sh\n(.*?)^```$", section, re.DOTALL | re.MULTILINE)


def tour_script(base_url: str) -> str:
    script = "\n".join(tour_blocks())
    return script.replace("http://127.0.0.1:9000", base_url).replace(
        ".venv/bin/mercato", shlex.join(MERCATO)
    )


def test_the_tour_has_its_three_parts():
    blocks = tour_blocks()
    assert len(blocks) == 3
    assert "mercato seed --demo" in blocks[0]
    assert "/store/carts/$CART/complete" in blocks[1]
    assert "/admin/orders/$FIRST/capture" in blocks[2]


@pytest.mark.slow  # two mercato servers and the tour's curl calls
def test_the_readme_tour_runs_twice_in_a_row(make_database, tmp_path):
    env = mercato_env(DATABASE_URL=make_database("tour"), MERCATO_ENABLE_TEST_PROVIDER=None)
    server = MercatoServer(env, tmp_path / "server.log")
    try:
        server.wait_ready()
        script = tour_script(server.base_url)
        for run in (1, 2):
            done = subprocess.run(
                ["bash", "-euo", "pipefail", "-c", script],
                env=env,
                capture_output=True,
                text=True,
                timeout=600,
            )
            output = done.stdout + done.stderr
            # Before: the second run's seller was a duplicate, then a traceback at its id.
            assert done.returncode == 0, (run, output[-3000:], server.log())
            failure = FAILURE.search(output)
            assert failure is None, (run, output[max(0, failure.start() - 1500) :][:3000])
    finally:
        server.stop()
