"""The ``fields`` selection engine (pure part: ``select``) over a toy resource."""

from __future__ import annotations

import pytest

from mercato.errors import MercatoError
from mercato.query.fields import FieldRules, Relation, Resource, select
from mercato.query.values import attr


async def _none(ctx, rows):  # loaders are never called by ``select``
    raise AssertionError


TAG = Resource("tag", {"id": attr("id"), "label": attr("label")}, defaults=("id", "label"))
AUTHOR = Resource(
    "author",
    {"id": attr("id"), "name": attr("name"), "email": attr("email")},
    relations={"tags": Relation(lambda: TAG, _none, many=True)},
    defaults=("id", "name", "email"),
)
BOOK = Resource(
    "book",
    {"id": attr("id"), "title": attr("title"), "isbn": attr("isbn"), "secret": attr("secret")},
    relations={
        "author": Relation(lambda: AUTHOR, _none, many=False),
        "tags": Relation(lambda: TAG, _none, many=True),
    },
    defaults=("id", "title", "isbn"),
)
ADMIN = FieldRules(defaults=(*BOOK.defaults, "author.name"))
PUBLIC = FieldRules(
    defaults=("id", "title", "author.id", "author.name"),
    allowed=("id", "title", "isbn", "author.id", "author.name", "tags.*"),
)


def sel(fields: str | None, rules: FieldRules = ADMIN) -> dict:
    return select(BOOK, rules, fields)


def test_no_fields_means_the_defaults() -> None:
    expected = {"id": None, "title": None, "isbn": None, "author": {"id": None, "name": None}}
    assert sel(None) == expected
    assert sel("") == expected
    assert sel(" , ") == expected


def test_bare_entries_replace_the_defaults_and_id_is_always_first() -> None:
    assert sel("title") == {"id": None, "title": None}
    assert list(sel("isbn,title")) == ["id", "isbn", "title"]
    assert sel("title,-id") == {"id": None, "title": None}


def test_plus_adds_and_minus_removes() -> None:
    assert sel("+secret") == {**sel(None), "secret": None}
    assert sel("-isbn") == {"id": None, "title": None, "author": {"id": None, "name": None}}
    assert sel("-author") == {"id": None, "title": None, "isbn": None}
    assert sel("-author.name") == {"id": None, "title": None, "isbn": None}
    assert sel("-nothing.known") == sel(None)  # removing what is not selected is harmless
    # A bare entry mixed with + keeps replace semantics, the + entry is added.
    assert sel("title,+isbn") == {"id": None, "title": None, "isbn": None}


def test_star_relation_selects_the_relations_defaults() -> None:
    author = {"id": None, "name": None, "email": None}
    assert sel("*author")["author"] == author
    assert sel("author.*")["author"] == author
    assert sel("+author.*")["author"] == author
    # ``*rel`` is not bare: the defaults stay.
    assert sel("*author")["isbn"] is None
    assert sel("title,*tags") == {"id": None, "title": None, "tags": {"id": None, "label": None}}


def test_nested_paths() -> None:
    assert sel("author.tags.label") == {
        "id": None,
        "author": {"id": None, "tags": {"id": None, "label": None}},
    }
    assert sel("author.name,author.email") == {
        "id": None,
        "author": {"id": None, "name": None, "email": None},
    }
    assert sel("author.tags.*")["author"]["tags"] == {"id": None, "label": None}


@pytest.mark.parametrize(
    ("fields", "bad"),
    [
        ("nope", "nope"),
        ("+nope", "nope"),
        ("title,nope,author.nope", "nope, author.nope"),
        ("title.x", "title.x"),
        ("author.tags.nope", "author.tags.nope"),
        ("*nope", "nope.*"),
    ],
)
def test_unknown_fields_are_400(fields: str, bad: str) -> None:
    with pytest.raises(MercatoError) as raised:
        sel(fields)
    assert raised.value.status_code == 400
    assert raised.value.message == f"Requested fields [{bad}] are not valid"


@pytest.mark.parametrize(
    ("fields", "bad"),
    [
        ("secret", "secret"),
        ("+author.email", "author.email"),
        ("author.tags", "author.tags"),
        ("*author.tags", "author.tags.*"),
    ],
)
def test_fields_outside_the_allowed_set_are_400(fields: str, bad: str) -> None:
    with pytest.raises(MercatoError) as raised:
        sel(fields, PUBLIC)
    assert raised.value.message == f"Requested fields [{bad}] are not valid"


def test_allowed_set_filters_relation_defaults() -> None:
    assert sel(None, PUBLIC) == {"id": None, "title": None, "author": {"id": None, "name": None}}
    assert sel("title,*tags", PUBLIC) == {
        "id": None,
        "title": None,
        "tags": {"id": None, "label": None},
    }
    assert sel("author.name", PUBLIC) == {"id": None, "author": {"id": None, "name": None}}
    # ``*author`` selects only the author's defaults that are allowed.
    assert sel("title,*author", PUBLIC) == {
        "id": None,
        "title": None,
        "author": {"id": None, "name": None},
    }


def test_minus_removes_from_expanded_relation_defaults() -> None:
    assert sel("*author,-author.email")["author"] == {"id": None, "name": None}
    assert sel("*author,-author.email,-author.name")["author"] == {"id": None}
    assert "tags" not in sel("*tags,-tags")
    # A relation left with nothing selected goes (``-author.name`` of the defaults).
    assert "author" not in sel("-author.name")


def test_replace_mode_selects_every_entry_with_its_modifier_stripped() -> None:
    """Medusa's ``FieldParser``: one bare entry makes every entry a selection, ``-`` and
    ``+`` included (the products list sends ``…,variants.id,…,-variants``)."""
    author = {"id": None, "name": None, "email": None}
    assert sel("title,author.*,-author.email,-author.name") == {
        "id": None,
        "title": None,
        "author": author,
    }
    assert sel("title,*tags,-tags") == {
        "id": None,
        "title": None,
        "tags": {"id": None, "label": None},
    }
    assert sel("title,-isbn") == {"id": None, "title": None, "isbn": None}
    assert sel("title,+-isbn") == {"id": None, "title": None, "isbn": None}


def test_modifier_mode_applies_entries_in_order() -> None:
    defaults = sel(None)
    # A leading space is a ``+`` a query string decoded.
    assert sel(" secret") == {**defaults, "secret": None}
    assert sel("-isbn,+isbn") == {
        **{k: v for k, v in defaults.items() if k != "isbn"},
        "isbn": None,
    }
    assert "isbn" not in sel("+isbn,-isbn")
    # ``-x`` removes ``x``, ``*x`` and every selected path below ``x``; unselected: a no-op.
    assert "author" not in sel("*author,+author.tags.label,-author")
    assert sel("-secret,-tags") == defaults
    # Duplicates are ignored; id is always there.
    assert sel("+secret,+secret,*author,*author,-id") == {
        **defaults,
        "author": {"id": None, "name": None, "email": None},
        "secret": None,
    }


def test_rules_allows() -> None:
    rules = FieldRules(defaults=(), allowed=("a", "b.c", "d.*"))
    assert rules.allows("a") and rules.allows("b.c") and rules.allows("b")
    assert rules.allows("d") and rules.allows("d.e") and rules.allows("d.e.f")
    assert not rules.allows("b.x") and not rules.allows("ab") and not rules.allows("dd")
    assert FieldRules(defaults=()).allows("anything.at.all")


def test_star_on_a_plain_field_selects_it() -> None:
    """``*shipping_address`` where the address is a JSON field, not a relation."""
    assert sel("title,*isbn") == {"id": None, "title": None, "isbn": None}
    assert sel("*secret")["secret"] is None and "secret" in sel("*secret")
