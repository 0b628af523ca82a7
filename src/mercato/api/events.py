"""``GET /admin/events``: what the outbox holds, dispatched or not."""

from mercato.api.deps import Query, Session
from mercato.api.openapi import list_operation
from mercato.events.resources import EVENT_LIST
from mercato.http.routing import APIRouter
from mercato.query.listing import run_list

admin_router = APIRouter(prefix="/admin/events", tags=["admin: events"])


@admin_router.get("", operation_id="AdminListEvents", openapi_extra=list_operation(EVENT_LIST))
async def list_events(session: Session, params: Query) -> dict:
    """Filter with ``name`` and ``resource_id``; newest first."""
    return await run_list(session, EVENT_LIST, params)
