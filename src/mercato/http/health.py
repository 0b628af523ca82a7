from sqlalchemy import text

from mercato.http.deps import Session
from mercato.http.routing import APIRouter

router = APIRouter(tags=["health"])


@router.get("/health", operation_id="GetHealth")
async def health(session: Session) -> dict[str, str]:
    """Liveness and database reachability."""
    await session.execute(text("SELECT 1"))
    return {"status": "ok"}
