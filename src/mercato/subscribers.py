"""The built-in durable subscribers: wiring, like the app factory, so that ``events`` never
imports the features that subscribe to it.

Every process of a release must know the same subscribers (the committing API process writes
one delivery per subscriber of each event; workers run the handlers), so both ``create_app``
and ``mercato worker`` call :func:`load`, with the same settings on every process.

Webhooks are opt-in (``MERCATO_ENABLE_WEBHOOKS=1``): their subscriber hears every event, so
each committed event gains a delivery row and a handler run even with no endpoint configured
(docs/benchmarks.md measures the cost); a marketplace without webhooks does not pay it.
"""

from __future__ import annotations

from mercato.settings import get_settings


def load() -> None:
    if get_settings().enable_webhooks:
        from mercato.webhooks.subscriber import register

        register()
