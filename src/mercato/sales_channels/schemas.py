from mercato.http.schemas import Body, LongText, Metadata, Name


class CreateSalesChannel(Body):
    name: Name
    description: LongText | None = None
    is_disabled: bool = False
    metadata: Metadata | None = None


class UpdateSalesChannel(Body):
    name: Name | None = None
    description: LongText | None = None
    is_disabled: bool | None = None
    metadata: Metadata | None = None
