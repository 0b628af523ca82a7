from mercato.http.schemas import Body, Email, Metadata, Name, Password


class CreateUser(Body):
    email: Email
    password: Password
    first_name: Name | None = None
    last_name: Name | None = None
    metadata: Metadata | None = None


class UpdateUser(Body):
    first_name: Name | None = None
    last_name: Name | None = None
    metadata: Metadata | None = None
