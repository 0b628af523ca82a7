"""Handles: lower-case kebab text derived from names (marketplace-setup.md, Sellers)."""

import unicodedata

from anyascii import anyascii

from mercato.domain.limits import NAME_LENGTH

# Scripts whose letters spell one sound each, so a letter-by-letter ASCII spelling reads like
# the name (``"Привет"`` → ``"privet"``, ``"Straße"`` → ``"strasse"``). Other scripts keep their
# letters: a Han character's reading depends on the language (anyascii reads Japanese kanji as
# Mandarin), and abjads such as Arabic do not write most vowels, so their ASCII spelling would
# not read like the name.
_TRANSLITERATED_SCRIPTS = frozenset({"LATIN", "GREEK", "CYRILLIC", "ARMENIAN", "GEORGIAN"})
INVALID_HANDLE = "Invalid request: handle: must be lower-case kebab-case (letters, digits, -)"
# A derived handle leaves room for a collision suffix (``-2``, ``-3``, …).
_DERIVED_LENGTH = NAME_LENGTH - 8


def _is_word_character(character: str) -> bool:
    """Letters and digits of any script, with their combining marks (Devanagari vowel signs)."""
    return character.isalnum() or unicodedata.category(character).startswith("M")


def _spelled(character: str) -> str:
    if character.isascii():
        return character
    script = unicodedata.name(character, "").partition(" ")[0]
    if script in _TRANSLITERATED_SCRIPTS:
        return anyascii(character)
    return character


def kebab(value: str, *, fallback: str = "item") -> str:
    """Lower-case kebab handle derived from a name: ``"Acme Shoes!"`` → ``"acme-shoes"``,
    ``"Café Zoë"`` → ``"cafe-zoe"``, ``"Чайный дом"`` → ``"chaynyy-dom"``, ``"東京 茶舗"`` →
    ``"東京-茶舗"``; ``fallback`` when the name has no letters or digits at all."""
    spelled = "".join(map(_spelled, unicodedata.normalize("NFKC", value))).lower()
    words, word = [], []
    for character in spelled:
        if _is_word_character(character):
            word.append(character)
        elif word:
            words.append("".join(word))
            word = []
    if word:
        words.append("".join(word))
    handle = unicodedata.normalize("NFC", "-".join(words))[:_DERIVED_LENGTH].strip("-")
    return handle or fallback


def is_handle(value: str) -> bool:
    """Lower-case words of letters and digits (any script) joined by single hyphens."""
    return (
        value == value.lower()
        and value == unicodedata.normalize("NFC", value)
        and all(word and all(map(_is_word_character, word)) for word in value.split("-"))
    )
