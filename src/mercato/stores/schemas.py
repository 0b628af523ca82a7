"""``POST /admin/stores/:id``: what the dashboard's store settings send."""

from __future__ import annotations

from typing import Any

from mercato.http.schemas import Body, Id, JsonObject, Metadata, Name, ShortText


class StoreCurrencyInput(Body):
    """One supported currency. The dashboard echoes the keys of a read (``id``, ``store_id``,
    ``currency``, timestamps): accepted and ignored, the list is replaced as a whole."""

    currency_code: Id
    is_default: bool | None = None
    is_tax_inclusive: bool | None = None
    id: Id | None = None
    store_id: Id | None = None
    currency: JsonObject | None = None
    created_at: ShortText | None = None
    updated_at: ShortText | None = None
    deleted_at: ShortText | None = None


class UpdateStore(Body):
    name: Name | None = None
    supported_currencies: list[StoreCurrencyInput] | None = None
    default_region_id: Id | None = None
    default_sales_channel_id: Id | None = None
    default_location_id: Id | None = None
    metadata: Metadata | None = None

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)
