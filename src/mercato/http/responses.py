"""Response shapes shared by every resource."""

from typing import Any


def deleted(entity_id: str, object_name: str, **extra: Any) -> dict[str, Any]:
    return {"id": entity_id, "object": object_name, "deleted": True, **extra}
