"""``/auth/*``: tokens for every audience."""

from mercato.api.deps import Session, UoW
from mercato.api.openapi import operation
from mercato.auth import service
from mercato.auth.schemas import EmailPassword, TokenResponse
from mercato.http.routing import APIRouter

router = APIRouter(prefix="/auth", tags=["auth"])
_LOGIN = operation(errors=(401,))  # wrong email or password


@router.post("/user/emailpass", operation_id="PostAuthUserEmailpass", openapi_extra=_LOGIN)
async def user_login(body: EmailPassword, session: Session) -> TokenResponse:
    """Admin user login."""
    token = await service.login(
        session, actor_type="user", email=body.email, password=body.password
    )
    return TokenResponse(token=token)


@router.post(
    "/customer/emailpass/register",
    operation_id="PostAuthCustomerEmailpassRegister",
    openapi_extra=operation(errors=(422,)),
)
async def customer_register(body: EmailPassword, uow: UoW) -> TokenResponse:
    """Create a customer identity; use the returned token with ``POST /store/customers``."""
    token = await service.register_customer_identity(uow, email=body.email, password=body.password)
    return TokenResponse(token=token)


@router.post("/customer/emailpass", operation_id="PostAuthCustomerEmailpass", openapi_extra=_LOGIN)
async def customer_login(body: EmailPassword, session: Session) -> TokenResponse:
    token = await service.login(
        session, actor_type="customer", email=body.email, password=body.password
    )
    return TokenResponse(token=token)


@router.post("/seller/emailpass", operation_id="PostAuthSellerEmailpass", openapi_extra=_LOGIN)
async def seller_login(body: EmailPassword, session: Session) -> TokenResponse:
    """Seller member login; the token opens ``/vendor``."""
    token = await service.login(
        session, actor_type="seller", email=body.email, password=body.password
    )
    return TokenResponse(token=token)
