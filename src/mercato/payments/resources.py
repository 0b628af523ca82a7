"""What shoppers see of payment collections and their sessions."""

from mercato.payments.models import PaymentSession
from mercato.query.fields import FieldRules, Relation, Resource
from mercato.query.loaders import has_many
from mercato.query.values import attr, money, timestamp

PAYMENT_SESSION = Resource(
    name="payment_session",
    fields={
        "id": attr("id"),
        "payment_collection_id": attr("payment_collection_id"),
        "provider_id": attr("provider_id"),
        "amount": money("amount"),
        "currency_code": attr("currency_code"),
        "status": attr("status"),
        "data": attr("data"),
        "created_at": timestamp("created_at"),
        "updated_at": timestamp("updated_at"),
    },
    defaults=("id", "provider_id", "amount", "currency_code", "status", "data"),
)

PAYMENT_COLLECTION = Resource(
    name="payment_collection",
    fields={
        "id": attr("id"),
        "cart_id": attr("cart_id"),
        "currency_code": attr("currency_code"),
        "amount": money("amount"),
        "authorized_amount": money("authorized_amount"),
        "captured_amount": money("captured_amount"),
        "refunded_amount": money("refunded_amount"),
        "status": attr("status"),
        "completed_at": timestamp("completed_at"),
        "created_at": timestamp("created_at"),
        "updated_at": timestamp("updated_at"),
    },
    relations={
        "payment_sessions": Relation(
            lambda: PAYMENT_SESSION,
            has_many(
                PaymentSession,
                "payment_collection_id",
                order_by=(PaymentSession.created_at, PaymentSession.id),
            ),
            many=True,
        )
    },
    defaults=("id", "currency_code", "amount", "status", "payment_sessions"),
)

# Store: ``{id, currency_code, amount, status, payment_sessions: [{id, provider_id, amount,
# currency_code, status, data}]}`` by default; the other columns on request.
PAYMENT_COLLECTION_FIELDS = FieldRules(
    defaults=("id", "currency_code", "amount", "status", "payment_sessions.*")
)
