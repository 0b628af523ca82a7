from typing import Literal

from mercato.http.schemas import Body, Metadata

SellerStatus = Literal["active", "suspended"]


class CreateSeller(Body):
    name: str
    handle: str | None = None
    email: str | None = None
    description: str | None = None
    logo: str | None = None
    status: SellerStatus = "active"
    metadata: Metadata | None = None


class UpdateSeller(Body):
    name: str | None = None
    handle: str | None = None
    email: str | None = None
    description: str | None = None
    logo: str | None = None
    status: SellerStatus | None = None
    metadata: Metadata | None = None


class CreateMember(Body):
    email: str
    password: str
    name: str | None = None
