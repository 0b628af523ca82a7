"""The built-in durable subscribers: wiring, like the app factory, so that ``events`` never
imports the features that subscribe to it.

Every process of a release must know the same subscribers (the committing API process writes
one delivery per subscriber of each event; workers run the handlers), so both ``create_app``
and ``mercato worker`` call :func:`load`, with the same settings on every process.

Webhooks are on unless ``MERCATO_ENABLE_WEBHOOKS=0``: their subscriber names an *interest*
the relay checks in its own statement (a live endpoint that could want the event), so events
no endpoint wants get no delivery row and no handler run (docs/benchmarks.md).
"""

from __future__ import annotations

from mercato.settings import get_settings


def load() -> None:
    if get_settings().enable_webhooks:
        from mercato.webhooks.subscriber import register

        register()
