from mercato.http.schemas import Body, Metadata


class CreateSalesChannel(Body):
    name: str
    description: str | None = None
    is_disabled: bool = False
    metadata: Metadata | None = None


class UpdateSalesChannel(Body):
    name: str | None = None
    description: str | None = None
    is_disabled: bool | None = None
    metadata: Metadata | None = None
