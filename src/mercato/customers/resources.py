from mercato.customers.models import Customer
from mercato.query.fields import FieldRules, Resource
from mercato.query.listing import Filter, ListSpec, ilike_any
from mercato.query.values import attr, timestamp

CUSTOMER = Resource(
    name="customer",
    fields={
        "id": attr("id"),
        "email": attr("email"),
        "first_name": attr("first_name"),
        "last_name": attr("last_name"),
        "phone": attr("phone"),
        "company_name": attr("company_name"),
        "has_account": attr("has_account"),
        "metadata": attr("metadata_"),
        "created_at": timestamp("created_at"),
        "updated_at": timestamp("updated_at"),
    },
    defaults=(
        "id",
        "email",
        "first_name",
        "last_name",
        "phone",
        "company_name",
        "has_account",
        "metadata",
        "created_at",
        "updated_at",
    ),
)
CUSTOMER_FIELDS = FieldRules(defaults=CUSTOMER.defaults)

CUSTOMER_LIST = ListSpec(
    model=Customer,
    resource=CUSTOMER,
    plural="customers",
    fields=CUSTOMER_FIELDS,
    filters={
        "id": Filter(Customer.id),
        "email": Filter(Customer.email),
        "has_account": Filter(Customer.has_account, "boolean"),
        "created_at": Filter(Customer.created_at, "datetime"),
        "updated_at": Filter(Customer.updated_at, "datetime"),
    },
    sortable={
        "created_at": Customer.created_at,
        "updated_at": Customer.updated_at,
        "email": Customer.email,
    },
    q=lambda text: ilike_any(text, Customer.email, Customer.first_name, Customer.last_name),
    scope=(Customer.deleted_at.is_(None),),
)
