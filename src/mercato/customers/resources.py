"""How customers and customer groups render and list. A customer's ``groups`` and a group's
``customers`` are the same links (``customer_group_customer``) read from either side; only
live groups and customers show."""

from typing import Any

from sqlalchemy import ColumnElement, select

from mercato.customers.models import Customer, CustomerGroup, CustomerGroupCustomer
from mercato.query.fields import FieldRules, Relation, Resource
from mercato.query.listing import Filter, ListSpec, ilike_any
from mercato.query.loaders import through
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
    relations={
        "groups": Relation(
            lambda: CUSTOMER_GROUP,
            through(
                CustomerGroup,
                CustomerGroupCustomer,
                "customer_id",
                "customer_group_id",
                where=CustomerGroup.deleted_at.is_(None),
            ),
            many=True,
        ),
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
# A shopper's own customer: its fields only. Group names are the operator's (``VIP``,
# ``Watch list``) and Medusa's store customer has no groups either.
STORE_CUSTOMER_FIELDS = FieldRules(defaults=CUSTOMER.defaults, allowed=tuple(CUSTOMER.fields))

CUSTOMER_GROUP: Resource = Resource(
    name="customer_group",
    fields={
        "id": attr("id"),
        "name": attr("name"),
        "metadata": attr("metadata_"),
        "created_at": timestamp("created_at"),
        "updated_at": timestamp("updated_at"),
        "deleted_at": timestamp("deleted_at"),
    },
    relations={
        "customers": Relation(
            lambda: CUSTOMER,
            through(
                Customer,
                CustomerGroupCustomer,
                "customer_group_id",
                "customer_id",
                where=Customer.deleted_at.is_(None),
            ),
            many=True,
        ),
    },
    defaults=("id", "name", "metadata", "created_at", "updated_at"),
)
CUSTOMER_GROUP_FIELDS = FieldRules(defaults=CUSTOMER_GROUP.defaults)


def _in_groups(op: str, groups: Any) -> ColumnElement[bool]:
    """Customers who are members of any of ``groups`` (an array parameter): a probe of the
    link table's primary key (group id first) per group."""
    members = select(CustomerGroupCustomer.customer_id).where(
        CustomerGroupCustomer.customer_group_id == groups.any_()
    )
    inside = Customer.id.in_(members)
    return ~inside if op in ("$ne", "$nin") else inside


CUSTOMER_LIST = ListSpec(
    model=Customer,
    resource=CUSTOMER,
    plural="customers",
    fields=CUSTOMER_FIELDS,
    filters={
        "id": Filter(Customer.id),
        "email": Filter(Customer.email),
        "has_account": Filter(Customer.has_account, "boolean"),
        "groups": Filter(_in_groups),
        "created_at": Filter(Customer.created_at, "datetime"),
        "updated_at": Filter(Customer.updated_at, "datetime"),
    },
    sortable={
        "created_at": Customer.created_at,
        "updated_at": Customer.updated_at,
        "email": Customer.email,
        "first_name": Customer.first_name,
        "last_name": Customer.last_name,
        "has_account": Customer.has_account,
    },
    q=lambda text: ilike_any(text, Customer.email, Customer.first_name, Customer.last_name),
    scope=(Customer.deleted_at.is_(None),),
)

CUSTOMER_GROUP_LIST = ListSpec(
    model=CustomerGroup,
    resource=CUSTOMER_GROUP,
    plural="customer_groups",
    fields=CUSTOMER_GROUP_FIELDS,
    filters={
        "id": Filter(CustomerGroup.id),
        "name": Filter(CustomerGroup.name),
        "created_at": Filter(CustomerGroup.created_at, "datetime"),
        "updated_at": Filter(CustomerGroup.updated_at, "datetime"),
    },
    sortable={
        "created_at": CustomerGroup.created_at,
        "updated_at": CustomerGroup.updated_at,
        "name": CustomerGroup.name,
    },
    q=lambda text: ilike_any(text, CustomerGroup.name),
    scope=(CustomerGroup.deleted_at.is_(None),),
)
