from mercato.http.schemas import Body


class EmailPassword(Body):
    email: str
    password: str


class TokenResponse(Body):
    token: str
