from mercato.http.schemas import Amount, Body, CurrencyCode, Id, JsonObject, Metadata, Name


class CreateShippingOption(Body):
    name: Name
    seller_id: Id
    region_id: Id | None = None
    currency_code: CurrencyCode | None = None
    amount: Amount
    is_return: bool = False
    data: JsonObject | None = None
    metadata: Metadata | None = None


class UpdateShippingOption(Body):
    name: Name | None = None
    amount: Amount | None = None
    is_return: bool | None = None
    data: JsonObject | None = None
    metadata: Metadata | None = None
