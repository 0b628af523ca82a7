from mercato.carts.schemas import Address
from mercato.http.schemas import Body, Metadata


class UpdateOrder(Body):
    email: str | None = None
    shipping_address: Address | None = None
    billing_address: Address | None = None
    metadata: Metadata | None = None
