from mercato.http.schemas import Body, Id, LongText, Metadata, Name


class CreateReturnReason(Body):
    value: Name
    label: Name
    description: LongText | None = None
    parent_return_reason_id: Id | None = None
    metadata: Metadata | None = None


class UpdateReturnReason(Body):
    """The parent is fixed at creation (Medusa): ``parent_return_reason_id`` is an unknown field."""

    value: Name | None = None
    label: Name | None = None
    description: LongText | None = None
    metadata: Metadata | None = None
