from mercato.http.schemas import Body, Metadata


class CreateUser(Body):
    email: str
    password: str
    first_name: str | None = None
    last_name: str | None = None
    metadata: Metadata | None = None


class UpdateUser(Body):
    first_name: str | None = None
    last_name: str | None = None
    metadata: Metadata | None = None
