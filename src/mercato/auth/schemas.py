from mercato.http.schemas import Body, Email, Password


class EmailPassword(Body):
    email: Email
    password: Password


class TokenResponse(Body):
    token: str
