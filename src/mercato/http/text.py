"""Small text helpers for resources."""

import re
import unicodedata


def kebab(value: str) -> str:
    """Lower-case kebab handle derived from a name: ``"Acme Shoes!"`` → ``"acme-shoes"``."""
    ascii_text = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    handle = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return handle or "item"
