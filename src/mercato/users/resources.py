from mercato.query.fields import FieldRules, Resource
from mercato.query.listing import Filter, ListSpec, ilike_any
from mercato.query.values import attr, timestamp
from mercato.users.models import User

USER = Resource(
    name="user",
    fields={
        "id": attr("id"),
        "email": attr("email"),
        "first_name": attr("first_name"),
        "last_name": attr("last_name"),
        "metadata": attr("metadata_"),
        "created_at": timestamp("created_at"),
        "updated_at": timestamp("updated_at"),
    },
    defaults=("id", "email", "first_name", "last_name", "metadata", "created_at", "updated_at"),
)
USER_FIELDS = FieldRules(defaults=USER.defaults)

USER_LIST = ListSpec(
    model=User,
    resource=USER,
    plural="users",
    fields=USER_FIELDS,
    filters={
        "id": Filter(User.id),
        "email": Filter(User.email),
        "created_at": Filter(User.created_at, "datetime"),
        "updated_at": Filter(User.updated_at, "datetime"),
    },
    sortable={"created_at": User.created_at, "updated_at": User.updated_at, "email": User.email},
    q=lambda text: ilike_any(text, User.email, User.first_name, User.last_name),
    scope=(User.deleted_at.is_(None),),
)
