from mercato.http.schemas import Body, Email, Id, Metadata, Name, ShortText


class RegisterCustomer(Body):
    email: Email
    first_name: Name | None = None
    last_name: Name | None = None
    phone: ShortText | None = None
    company_name: ShortText | None = None
    metadata: Metadata | None = None


class UpdateCustomer(Body):
    first_name: Name | None = None
    last_name: Name | None = None
    phone: ShortText | None = None
    company_name: ShortText | None = None
    metadata: Metadata | None = None


class CreateCustomerGroup(Body):
    name: Name
    metadata: Metadata | None = None


class UpdateCustomerGroup(Body):
    name: Name | None = None
    metadata: Metadata | None = None


class ManageGroupCustomers(Body):
    add: list[Id] = []
    remove: list[Id] = []
