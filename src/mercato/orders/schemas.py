from mercato.carts.schemas import Address
from mercato.http.schemas import Body, Email, Metadata


class UpdateOrder(Body):
    email: Email | None = None
    shipping_address: Address | None = None
    billing_address: Address | None = None
    metadata: Metadata | None = None
