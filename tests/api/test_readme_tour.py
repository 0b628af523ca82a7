"""The README's tour is what a new user copies into a shell: it runs as written, and again.

Its shell blocks run twice, each time in a fresh ``bash -euo pipefail``, against ``mercato serve``
on a database of its own (migrated, as ``make run`` leaves it), with only the server's address and
the ``mercato`` command replaced by this test run's. Its last part, a return on one seller's
order of a three-seller group, must also print what its comments promise (the refund, the
untouched siblings).
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


def test_the_tour_has_its_seven_parts():
    blocks = tour_blocks()
    assert len(blocks) == 7
    assert "mercato seed --demo" in blocks[0]
    assert "/store/carts/$CART/complete" in blocks[1]
    assert "/admin/orders/$FIRST/capture" in blocks[2]
    returns = blocks[3]  # a return on one seller's order of a three-seller group, step by step
    for step in (
        "mercato demo checkout",
        "/admin/orders/$ORDER/fulfillments",
        "/admin/orders/$ORDER/capture",
        "-X POST $BASE/admin/returns ",
        "/admin/returns/$RET/request-items",
        "/admin/returns/$RET/shipping-method",
        "/admin/returns/$RET/request ",
        "/admin/returns/$RET/receive ",
        "/admin/returns/$RET/receive-items",
        "/admin/returns/$RET/receive/confirm",
        "/admin/orders/$ORDER/refund",
        'test "$AFTER" = "$BEFORE"',
    ):
        assert step in returns, step
    exchange = blocks[4]  # an exchange paid in the store and captured
    for step in (
        "-X POST $BASE/admin/exchanges ",
        "/admin/exchanges/$EX/inbound/items",
        "/admin/exchanges/$EX/outbound/items",
        "/admin/exchanges/$EX/request",
        "/store/payment-collections/$EXCOL/payment-sessions/$SESSION/authorize",
        "/admin/orders/$EXORDER/capture",
    ):
        assert step in exchange, step
    draft = blocks[5]  # a draft order across sellers, edited, converted and marked paid
    for step in (
        "-X POST $BASE/admin/draft-orders ",
        "/admin/draft-orders/$DRAFT/edit/items/item/$LINE",
        "/admin/draft-orders/$DRAFT/edit/confirm",
        "/admin/draft-orders/$DRAFT/convert-to-order",
        "/admin/payment-collections/$DCOL/mark-as-paid",
        "-X POST $BASE/admin/order-edits ",
        "/admin/order-edits/$DORDER/items/item/$EDLINE",
        "/admin/order-edits/$DORDER/request",
        "/admin/order-edits/$DORDER/confirm",
    ):
        assert step in draft, step
    promotions = blocks[6]  # the operator's 10 % and a seller's coupon on a three-seller cart
    for step in ("-X POST $BASE/admin/promotions ", "-X POST $BASE/vendor/promotions "):
        assert step in promotions, step


# What the return walk-through prints when it works: the return requested (refund_amount, order
# version 2), received with refund_due = refund_amount, the default refund settling the order,
# and the siblings as they were.
RETURN_OUTPUT = [
    re.compile(r"^requested (?P<amount>[\d.]+) 2$", re.MULTILINE),
    re.compile(r"^received (?P<amount>[\d.]+)$", re.MULTILINE),
    re.compile(
        r"^partially_refunded \{.*'refunded_total': (?P<amount>[\d.]+), .*"
        r"'pending_difference': 0, 'return_requested_total': 0, 'refund_due': 0, ",
        re.MULTILINE,
    ),
    re.compile(r"^sibling orders unchanged$", re.MULTILINE),
]


# The exchange walk-through: a pricier item owed, the new collection authorized in the store,
# then the order captured in full.
EXCHANGE_OUTPUT = [
    re.compile(r"^difference_due (?P<due>[\d.]+)$", re.MULTILINE),
    re.compile(r"^authorized$", re.MULTILINE),
    re.compile(r"^exchanged captured 0$", re.MULTILINE),
]


def check_exchange_walk_through(output: str) -> None:
    for pattern in EXCHANGE_OUTPUT:
        found = pattern.search(output)
        assert found is not None, (pattern.pattern, output[-3000:])
        if "due" in pattern.groupindex:
            assert float(found["due"]) > 0, found[0]


# The draft walk-through: the confirmed edit's per-seller totals are the orders' totals, each
# captured by the mark-as-paid.
DRAFT_CONFIRMED = re.compile(
    r"^(?P<total>[\d.]+) \[\('[^']+', (?P<a>[\d.]+)\), \('[^']+', (?P<b>[\d.]+)\)\]$", re.MULTILINE
)
DRAFT_PAID = re.compile(
    r"^draft converted captured \[\((?P<a>[\d.]+), 'captured'\), \((?P<b>[\d.]+), 'captured'\)\]$",
    re.MULTILINE,
)


def check_draft_walk_through(output: str) -> None:
    confirmed = list(DRAFT_CONFIRMED.finditer(output))
    paid = DRAFT_PAID.search(output)
    assert len(confirmed) == 2 and paid is not None, output[-3000:]
    after = confirmed[1]
    assert round(float(after["a"]) + float(after["b"]), 2) == float(after["total"])
    assert sorted((paid["a"], paid["b"])) == sorted((after["a"], after["b"]))
    # The order edit: its amount due paid on the new collection, nothing pending.
    assert re.search(r"^edited 2 [\d.]+$", output, re.MULTILINE), output[-3000:]
    assert re.search(r"^edit paid captured 0$", output, re.MULTILINE), output[-3000:]


def check_promotion_walk_through(output: str) -> None:
    """The group's total equals the sum of its orders' totals, after both promotions."""
    found = re.search(r"^promotions (?P<total>[\d.]+) (?P=total)$", output, re.MULTILINE)
    assert found is not None, output[-3000:]


def check_return_walk_through(output: str) -> None:
    amounts = set()
    for pattern in RETURN_OUTPUT:
        found = pattern.search(output)
        assert found is not None, (pattern.pattern, output[-3000:])
        amounts |= {v for k, v in found.groupdict().items() if k == "amount"}
    assert len(amounts) == 1, amounts  # refund_amount = refund_due = what was refunded


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
            check_return_walk_through(done.stdout)
            check_exchange_walk_through(done.stdout)
            check_draft_walk_through(done.stdout)
            check_promotion_walk_through(done.stdout)
    finally:
        server.stop()
