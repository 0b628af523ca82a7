from sqlalchemy import literal_column, select

from mercato.api.deps import Session
from mercato.http.routing import APIRouter
from mercato.query.driver import FixedQuery

router = APIRouter(tags=["health"])
# The way every read reaches the database (``query.driver``), so the benchmark's floor is theirs.
_PING = FixedQuery(select(literal_column("1").label("one")))


@router.get("/health", operation_id="GetHealth")
async def health(session: Session) -> dict[str, str]:
    """Liveness and database reachability."""
    await _PING.rows(session)
    return {"status": "ok"}
