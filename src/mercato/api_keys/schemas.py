from typing import Literal

from mercato.http.schemas import Body


class CreateApiKey(Body):
    title: str
    type: Literal["publishable", "secret"]


class UpdateApiKey(Body):
    title: str


class ManageSalesChannels(Body):
    add: list[str] = []
    remove: list[str] = []
