"""The built-in durable subscribers, registered by importing their modules.

Every process of a release must know the same subscribers (the committing API process writes
one delivery per subscriber of each event; workers run the handlers), so both ``create_app``
and ``mercato worker`` call :func:`load`. A module listed here registers its subscriber at
import: ``subscribe("*", handle, subscriber_id="webhooks")``.
"""

from __future__ import annotations

import importlib

BUILTIN: tuple[str, ...] = ("mercato.webhooks.subscriber",)


def load() -> None:
    for module in BUILTIN:
        importlib.import_module(module)
