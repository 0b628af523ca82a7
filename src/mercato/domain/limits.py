"""The bounds of what clients send (api-conventions.md, "Request validation"): text lengths,
``metadata`` size, and the amounts and quantities that keep every total exact and inside a
PostgreSQL ``BIGINT``.

Text lengths are in characters; at 4 bytes a character the longest indexed text (255) stays far
below PostgreSQL's btree entry limit (~2,700 bytes). ``http.schemas`` declares the body types
with them (``maxLength`` in the OpenAPI schema) and the query engine caps query-string text.

A unit price (any amount a client sends) is at most ``MAX_UNIT_AMOUNT`` minor units and a line
at most ``MAX_LINE_QUANTITY`` units. A cart's amount before tax — the sum of its lines' unit
price × quantity and of its shipping amounts — is at most ``MAX_CART_AMOUNT`` minor units. Tax
is at most 100 %, so every total derived from a cart (the cart's, its orders', the order
group's, the payment collection's, captures and refunds) is below ``2 * MAX_CART_AMOUNT``
(2 × 10^15), more than four thousand times below the ``BIGINT`` maximum (9.2 × 10^18).
"""

NAME_LENGTH = 255  # names, titles, handles, skus, values, labels, address lines, phones, codes
EMAIL_LENGTH = 254  # RFC 5321
TEXT_LENGTH = 4096  # descriptions and notes
URL_LENGTH = 2048  # urls: thumbnails, logos, tracking and label urls
ID_LENGTH = 64  # ids of Mercato resources (``prefix_`` + a 26-character ULID) and provider ids
PASSWORD_LENGTH = 1024  # hashing cost grows with the input
QUERY_TEXT_LENGTH = NAME_LENGTH  # a filter value or ``q``: no filtered column holds longer text
METADATA_BYTES = 64 * 1024  # ``metadata`` and other free-form objects, serialized

MAX_UNIT_AMOUNT = 10**12
MAX_LINE_QUANTITY = 1_000_000
MAX_CART_AMOUNT = 10**15
