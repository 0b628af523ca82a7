"""Event names come from one list (``domain.events``): the unit of work stages no other."""

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker

from mercato.domain.events import EVENT_NAMES, ORDER_UPDATED
from mercato.unit_of_work import UnitOfWork


def test_uow_emit_refuses_a_name_outside_the_list() -> None:
    uow = UnitOfWork(async_sessionmaker())  # staging needs no transaction
    with pytest.raises(ValueError, match="unknown event name 'order.teleported'"):
        uow.emit("order.teleported", {"id": "order_1"})
    uow.emit(ORDER_UPDATED, {"id": "order_1"})
    assert ORDER_UPDATED in EVENT_NAMES
