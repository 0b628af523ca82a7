from mercato.http.schemas import Body, Metadata


class RegisterCustomer(Body):
    email: str
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    company_name: str | None = None
    metadata: Metadata | None = None


class UpdateCustomer(Body):
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    company_name: str | None = None
    metadata: Metadata | None = None
