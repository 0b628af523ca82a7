from typing import Literal

from mercato.http.schemas import Body, Id, Name


class CreateApiKey(Body):
    title: Name
    type: Literal["publishable", "secret"]


class UpdateApiKey(Body):
    title: Name


class ManageSalesChannels(Body):
    add: list[Id] = []
    remove: list[Id] = []
