from mercato.http.schemas import (
    Body,
    Email,
    Handle,
    LongText,
    Metadata,
    Name,
    Password,
    Url,
)
from mercato.sellers.models import SellerStatus


class CreateSeller(Body):
    name: Name
    handle: Handle | None = None
    email: Email | None = None
    description: LongText | None = None
    logo: Url | None = None
    status: SellerStatus = "active"
    metadata: Metadata | None = None


class UpdateSeller(Body):
    name: Name | None = None
    handle: Handle | None = None
    email: Email | None = None
    description: LongText | None = None
    logo: Url | None = None
    status: SellerStatus | None = None
    metadata: Metadata | None = None


class CreateMember(Body):
    email: Email
    password: Password
    name: Name | None = None
