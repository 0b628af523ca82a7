"""Authentication of every audience: admin, secret keys, store keys, customers, seller members."""

from __future__ import annotations

from sqlalchemy import func, select

from mercato.api.deps import INVALID_KEY, MISSING_KEY
from mercato.api_keys.models import ApiKey
from mercato.auth.models import AuthIdentity
from mercato.auth.tokens import TokenClaims, issue_token
from tests.api.helpers import (
    ADMIN_EMAIL,
    PASSWORD,
    basic,
    bearer,
    create_admin,
    create_api_key,
    create_seller,
    error,
    login,
    ok,
)

UNAUTHORIZED = {"type": "unauthorized", "message": "Unauthorized"}
INVALID_LOGIN = {"type": "unauthorized", "message": "Invalid email or password"}


async def test_admin_login_with_real_argon2id_hash(client, app, engine):
    user_id = await create_admin(app)
    headers = await login(client, "user", ADMIN_EMAIL, PASSWORD)
    me = ok(await client.get("/admin/users/me", headers=headers))["user"]
    assert me["id"] == user_id and me["email"] == ADMIN_EMAIL
    async with app.state.sessionmaker() as session:
        stored = await session.scalar(select(AuthIdentity.password_hash))
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


async def test_admin_login_email_is_case_insensitive(client, app, fast_hashing):
    await create_admin(app)
    await login(client, "user", "  ADMIN@Example.com ", PASSWORD)


async def test_wrong_password_and_unknown_email_are_the_same_401(client, app, fast_hashing):
    await create_admin(app)
    for email, password in [(ADMIN_EMAIL, "wrong-password"), ("nobody@example.com", PASSWORD)]:
        response = await client.post(
            "/auth/user/emailpass", json={"email": email, "password": password}
        )
        assert response.status_code == 401
        assert response.json() == INVALID_LOGIN


async def test_admin_credentials_of_another_audience_do_not_log_in(client, app, fast_hashing):
    await create_admin(app)
    for actor in ("customer", "seller"):
        response = await client.post(
            f"/auth/{actor}/emailpass", json={"email": ADMIN_EMAIL, "password": PASSWORD}
        )
        assert (response.status_code, response.json()) == (401, INVALID_LOGIN)


async def test_login_body_is_validated(client):
    error(await client.post("/auth/user/emailpass", json={"email": "a@b.c"}), 400, "invalid_data")
    response = await client.post(
        "/auth/user/emailpass", json={"email": "a@b.c", "password": "x", "otp": "1"}
    )
    error(response, 400, "invalid_data", "Invalid request: Unrecognized fields: 'otp'")


async def test_admin_route_rejects_missing_and_bad_credentials(client, app, fast_hashing):
    user_id = await create_admin(app)
    bad = [
        {},
        {"authorization": "Bearer"},
        {"authorization": "Bearer garbage"},
        {"authorization": "Token abc"},
        bearer(issue_token(TokenClaims("user", user_id, "authid_x"), ttl_seconds=-10)),
        bearer(issue_token(TokenClaims("user", "user_missing", "authid_x"))),
        {"authorization": "Basic !!!not-base64"},
        basic("sk_unknown"),
    ]
    for headers in bad:
        response = await client.get("/admin/users/me", headers=headers)
        assert (response.status_code, response.json()) == (401, UNAUTHORIZED), headers
    # A token signed with another secret is refused too.
    import jwt

    forged = jwt.encode(
        {"actor_type": "user", "actor_id": user_id, "auth_identity_id": "x", "exp": 2**40},
        "another-secret-of-sufficient-length-0123456789",
        algorithm="HS256",
    )
    response = await client.get("/admin/users", headers=bearer(forged))
    assert (response.status_code, response.json()) == (401, UNAUTHORIZED)


async def test_customer_and_seller_tokens_are_refused_on_admin_routes(client):
    for actor_type in ("customer", "seller"):
        token = issue_token(TokenClaims(actor_type, "cus_1", "authid_1"))
        response = await client.get("/admin/users", headers=bearer(token))
        assert (response.status_code, response.json()) == (401, UNAUTHORIZED)


async def test_deleted_admin_user_token_stops_working(client, admin_headers):
    other = ok(
        await client.post(
            "/admin/users",
            json={"email": "second@example.com", "password": PASSWORD},
            headers=admin_headers,
        )
    )["user"]
    second = await login(client, "user", "second@example.com", PASSWORD)
    ok(await client.get("/admin/users/me", headers=second))
    ok(await client.delete(f"/admin/users/{other['id']}", headers=admin_headers))
    response = await client.get("/admin/users/me", headers=second)
    assert (response.status_code, response.json()) == (401, UNAUTHORIZED)
    response = await client.post(
        "/auth/user/emailpass", json={"email": "second@example.com", "password": PASSWORD}
    )
    assert (response.status_code, response.json()) == (401, INVALID_LOGIN)


async def test_secret_api_key_authenticates_admin_until_revoked(client, admin_headers):
    key = await create_api_key(client, admin_headers, "secret")
    assert key["token"].startswith("sk_")
    headers = basic(key["token"])
    assert "users" in ok(await client.get("/admin/users", headers=headers))
    me = ok(await client.get("/admin/users/me", headers=headers))["user"]
    assert me["email"] == ADMIN_EMAIL  # the key acts as its creator
    # Without the trailing colon it is still the username part of Basic auth.
    import base64

    raw = {"authorization": "Basic " + base64.b64encode(key["token"].encode()).decode()}
    ok(await client.get("/admin/users", headers=raw))
    ok(await client.post(f"/admin/api-keys/{key['id']}/revoke", headers=admin_headers))
    response = await client.get("/admin/users", headers=headers)
    assert (response.status_code, response.json()) == (401, UNAUTHORIZED)


async def test_secret_keys_die_with_the_user_who_created_them(client, app, admin_headers):
    """marketplace-setup.md: deleting a user revokes its secret keys in the same transaction."""
    ok(
        await client.post(
            "/admin/users",
            json={"email": "second@example.com", "password": PASSWORD},
            headers=admin_headers,
        )
    )
    second = await login(client, "user", "second@example.com", PASSWORD)
    second_id = ok(await client.get("/admin/users/me", headers=second))["user"]["id"]
    keys = [await create_api_key(client, second, "secret", title=f"ci {n}") for n in (1, 2)]
    publishable = await create_api_key(client, second, "publishable")
    mine = await create_api_key(client, admin_headers, "secret")
    for key in keys:
        ok(await client.get("/admin/users", headers=basic(key["token"])))

    ok(await client.delete(f"/admin/users/{second_id}", headers=basic(mine["token"])))
    for key in keys:
        response = await client.get("/admin/users", headers=basic(key["token"]))
        assert (response.status_code, response.json()) == (401, UNAUTHORIZED)
        shown = ok(await client.get(f"/admin/api-keys/{key['id']}", headers=admin_headers))
        assert shown["api_key"]["revoked_at"] is not None
    me = ok(await client.get("/admin/users/me", headers=admin_headers))["user"]["id"]
    async with app.state.sessionmaker() as session:
        revokers = await session.scalars(
            select(ApiKey.revoked_by).where(ApiKey.id.in_([k["id"] for k in keys]))
        )
        assert set(revokers) == {me}
    # other users' keys and publishable keys (public, not credentials) are left alone
    ok(await client.get("/admin/users", headers=basic(mine["token"])))
    shown = ok(await client.get(f"/admin/api-keys/{publishable['id']}", headers=admin_headers))
    assert shown["api_key"]["revoked_at"] is None


async def test_publishable_key_is_not_an_admin_credential(client, admin_headers):
    key = await create_api_key(client, admin_headers, "publishable")
    response = await client.get("/admin/users", headers=basic(key["token"]))
    assert (response.status_code, response.json()) == (401, UNAUTHORIZED)


async def test_store_requires_a_valid_publishable_key(client, admin_headers, store_headers):
    missing = await client.get("/store/regions")
    assert (missing.status_code, missing.json()) == (
        400,
        {"type": "not_allowed", "message": MISSING_KEY},
    )
    assert MISSING_KEY == (
        "Publishable API key required in the request header: x-publishable-api-key. "
        "You can manage your keys in settings in the dashboard."
    )
    invalid = {"type": "not_allowed", "message": INVALID_KEY}
    assert INVALID_KEY == "A valid publishable key is required to proceed with the request"
    unknown = await client.get("/store/regions", headers={"x-publishable-api-key": "pk_nope"})
    assert (unknown.status_code, unknown.json()) == (400, invalid)
    secret = await create_api_key(client, admin_headers, "secret")
    as_secret = await client.get(
        "/store/regions", headers={"x-publishable-api-key": secret["token"]}
    )
    assert (as_secret.status_code, as_secret.json()) == (400, invalid)

    ok(await client.get("/store/regions", headers=store_headers))
    keys = ok(await client.get("/admin/api-keys?type=publishable", headers=admin_headers))
    key_id = keys["api_keys"][0]["id"]
    ok(await client.post(f"/admin/api-keys/{key_id}/revoke", headers=admin_headers))
    revoked = await client.get("/store/regions", headers=store_headers)
    assert (revoked.status_code, revoked.json()) == (400, invalid)


async def test_admin_token_does_not_open_the_store_without_a_key(client, admin_headers):
    response = await client.get("/store/products", headers=admin_headers)
    assert (response.status_code, response.json()["message"]) == (400, MISSING_KEY)


async def _register(client, store_headers, email: str = "jane@example.com") -> dict:
    body = ok(
        await client.post(
            "/auth/customer/emailpass/register", json={"email": email, "password": PASSWORD}
        )
    )
    return bearer(body["token"])


async def test_customer_registration_flow(client, store_headers):
    registration = await _register(client, store_headers)
    # The registration token is not yet a customer.
    response = await client.get("/store/customers/me", headers={**store_headers, **registration})
    assert (response.status_code, response.json()) == (401, UNAUTHORIZED)
    created = ok(
        await client.post(
            "/store/customers",
            json={"email": "jane@example.com", "first_name": "Jane", "last_name": "Doe"},
            headers={**store_headers, **registration},
        )
    )["customer"]
    assert created["id"].startswith("cus_")
    assert created["has_account"] is True
    assert (created["first_name"], created["last_name"]) == ("Jane", "Doe")

    customer = await login(client, "customer", "jane@example.com", PASSWORD)
    me = ok(await client.get("/store/customers/me", headers={**store_headers, **customer}))
    assert me["customer"]["id"] == created["id"]
    assert me["customer"]["email"] == "jane@example.com"
    updated = ok(
        await client.post(
            "/store/customers/me", json={"phone": "+1 555"}, headers={**store_headers, **customer}
        )
    )["customer"]
    assert updated["phone"] == "+1 555"
    # The customer route still needs the publishable key, and a customer token is not an admin.
    assert (await client.get("/store/customers/me", headers=customer)).status_code == 400
    assert (await client.get("/admin/customers", headers=customer)).status_code == 401


async def test_customer_me_requires_a_customer_token(client, store_headers):
    response = await client.get("/store/customers/me", headers=store_headers)
    assert (response.status_code, response.json()) == (401, UNAUTHORIZED)
    garbage = {**store_headers, "authorization": "Bearer nope"}
    assert (await client.get("/store/customers/me", headers=garbage)).status_code == 401
    user_token = bearer(issue_token(TokenClaims("user", "user_1", "authid_1")))
    response = await client.get("/store/customers/me", headers={**store_headers, **user_token})
    assert response.status_code == 401


async def test_registering_an_email_twice_is_refused(client, app, store_headers):
    await _register(client, store_headers)
    response = await client.post(
        "/auth/customer/emailpass/register",
        json={"email": "JANE@example.com", "password": "another-password"},
    )
    message = error(response, 422, "duplicate_error")
    assert "jane@example.com" in message
    async with app.state.sessionmaker() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(AuthIdentity)
            .where(AuthIdentity.actor_type == "customer")
        )
    assert count == 1


async def test_registration_validates_email_and_password(client):
    response = await client.post(
        "/auth/customer/emailpass/register", json={"email": "not-an-email", "password": PASSWORD}
    )
    assert "email" in error(response, 400, "invalid_data")
    response = await client.post(
        "/auth/customer/emailpass/register", json={"email": "a@example.com", "password": "short"}
    )
    assert "password" in error(response, 400, "invalid_data")


async def test_a_registration_token_creates_one_customer_only(client, admin_headers, store_headers):
    registration = await _register(client, store_headers)
    headers = {**store_headers, **registration}
    ok(await client.post("/store/customers", json={"email": "jane@example.com"}, headers=headers))
    again = await client.post(
        "/store/customers", json={"email": "jane@example.com"}, headers=headers
    )
    error(again, 400, "invalid_data", "Request already authenticated as a customer.")
    customers = ok(await client.get("/admin/customers", headers=admin_headers))
    assert customers["count"] == 1


async def test_store_customer_creation_needs_a_registration_token(client, store_headers):
    response = await client.post(
        "/store/customers", json={"email": "jane@example.com"}, headers=store_headers
    )
    assert (response.status_code, response.json()) == (401, UNAUTHORIZED)
    registration = await _register(client, store_headers)
    mismatch = await client.post(
        "/store/customers",
        json={"email": "someone-else@example.com"},
        headers={**store_headers, **registration},
    )
    assert "email" in error(mismatch, 400, "invalid_data")


async def test_seller_member_logs_in_to_the_vendor_api(client, admin_headers):
    seller = await create_seller(client, admin_headers, "Acme Shoes", email="shop@acme.test")
    member = ok(
        await client.post(
            f"/admin/sellers/{seller['id']}/members",
            json={"email": "staff@acme.test", "password": PASSWORD, "name": "Staff"},
            headers=admin_headers,
        )
    )["member"]
    assert member["id"].startswith("mem_") and member["seller_id"] == seller["id"]
    assert "password" not in member and "password_hash" not in member

    vendor = await login(client, "seller", "staff@acme.test", PASSWORD)
    me = ok(await client.get("/vendor/sellers/me", headers=vendor))["seller"]
    assert me["id"] == seller["id"] and me["handle"] == "acme-shoes"
    assert me["stock_location"]["seller_id"] == seller["id"]
    with_members = ok(await client.get("/vendor/sellers/me?fields=+members.*", headers=vendor))
    assert [m["email"] for m in with_members["seller"]["members"]] == ["staff@acme.test"]

    # Seller credentials are not admin credentials, and admin tokens do not open /vendor.
    response = await client.get("/admin/sellers", headers=vendor)
    assert (response.status_code, response.json()) == (401, UNAUTHORIZED)
    response = await client.get("/vendor/sellers/me", headers=admin_headers)
    assert (response.status_code, response.json()) == (401, UNAUTHORIZED)
    response = await client.get("/vendor/sellers/me")
    assert (response.status_code, response.json()) == (401, UNAUTHORIZED)


async def test_member_of_a_deleted_seller_is_locked_out(client, admin_headers):
    seller = await create_seller(client, admin_headers)
    ok(
        await client.post(
            f"/admin/sellers/{seller['id']}/members",
            json={"email": "staff@acme.test", "password": PASSWORD},
            headers=admin_headers,
        )
    )
    vendor = await login(client, "seller", "staff@acme.test", PASSWORD)
    ok(await client.delete(f"/admin/sellers/{seller['id']}", headers=admin_headers))
    assert (await client.get("/vendor/sellers/me", headers=vendor)).status_code == 401


async def test_duplicate_member_email_is_refused(client, admin_headers):
    seller = await create_seller(client, admin_headers)
    body = {"email": "staff@acme.test", "password": PASSWORD}
    url = f"/admin/sellers/{seller['id']}/members"
    ok(await client.post(url, json=body, headers=admin_headers))
    error(await client.post(url, json=body, headers=admin_headers), 422, "duplicate_error")
