"""Webhook endpoint commands, the fan-out of an event to endpoints, redelivery and replay
(events-and-scale-out.md, Webhooks). Each command is one unit of work."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.db.base import new_id
from mercato.domain.events import EVENT_NAMES
from mercato.errors import invalid, not_found
from mercato.events.models import OutboxEvent
from mercato.sellers.models import Seller
from mercato.settings import get_settings
from mercato.unit_of_work import UnitOfWork
from mercato.webhooks import secrets
from mercato.webhooks.models import Webhook, WebhookDelivery
from mercato.webhooks.projection import vendor_may_receive
from mercato.webhooks.targets import check_target

ENTITY = "Webhook"
MAX_SELLER_WEBHOOKS = 10


def _since_message() -> str:
    """Replay reaches as far back as events are kept (``MERCATO_EVENT_RETENTION_DAYS``)."""
    return f"since must be within the last {get_settings().event_retention_days} days"


class Event(Protocol):
    """What the fan-out reads of an outbox row (or of an envelope with the same names)."""

    @property
    def id(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def seller_id(self) -> str | None: ...


def check_events(events: object, *, vendor: bool) -> list[str]:
    """The subscribed names, or the spec's 400: unknown names, then (vendor) names sellers
    cannot receive. ``*`` means every name the endpoint may see."""
    if not isinstance(events, list) or not all(isinstance(e, str) for e in events) or not events:
        raise invalid("events contains unknown event names: (none)")
    names = list(dict.fromkeys(events))
    unknown = [n for n in names if n != "*" and n not in EVENT_NAMES]
    if unknown:
        raise invalid(f"events contains unknown event names: {', '.join(unknown)}")
    if vendor:
        for name in names:
            if name != "*" and not vendor_may_receive(name):
                raise invalid(f"Event {name} is not available to sellers")
    return names


def subscribes(webhook_events: Sequence[str], seller_id: str | None, name: str) -> bool:
    """Whether an endpoint with these ``events`` (of this seller, or the operator's) gets
    events named ``name``."""
    if seller_id is not None and not vendor_may_receive(name):
        return False
    return "*" in webhook_events or name in webhook_events


def _scope(seller_id: str | None) -> tuple[Any, ...]:
    return () if seller_id is None else (Webhook.seller_id == seller_id,)


async def load_webhook(
    session: AsyncSession, webhook_id: str, seller_id: str | None, *, lock: bool = False
) -> Webhook:
    """A live endpoint (a seller's own, when ``seller_id`` is given) or the spec's 404."""
    query = select(Webhook).where(
        Webhook.id == webhook_id, Webhook.deleted_at.is_(None), *_scope(seller_id)
    )
    if lock:
        query = query.with_for_update()
    webhook = await session.scalar(query)
    if webhook is None:
        raise not_found(ENTITY, webhook_id)
    return webhook


async def create_webhook(
    uow: UnitOfWork, *, body: dict[str, Any], seller_id: str | None
) -> tuple[Webhook, str]:
    """The endpoint and its secret in clear (shown once, in the response)."""
    url = await check_target(body.get("url"))
    events = check_events(body.get("events"), vendor=seller_id is not None)
    supplied = body.get("secret")
    secret = secrets.check_secret(supplied) if supplied is not None else secrets.generate_secret()
    async with uow:
        session = uow.session
        if seller_id is not None:
            # The seller's row serializes its creates, so two at once cannot make an 11th.
            await session.execute(select(Seller.id).where(Seller.id == seller_id).with_for_update())
            live = await session.scalar(
                select(func.count())
                .select_from(Webhook)
                .where(Webhook.seller_id == seller_id, Webhook.deleted_at.is_(None))
            )
            if (live or 0) >= MAX_SELLER_WEBHOOKS:
                raise invalid(f"A seller can have at most {MAX_SELLER_WEBHOOKS} webhooks")
        active = body.get("is_active")
        is_active = True if active is None else bool(active)
        webhook = Webhook(
            url=url,
            description=body.get("description"),
            events=events,
            is_active=is_active,
            disabled_reason=None if is_active else "manual",
            disabled_at=None if is_active else datetime.now(UTC),
            consecutive_failures=0,
            seller_id=seller_id,
            secret_ciphertext=secrets.encrypt(secret),
            secret_hint=secrets.secret_hint(secret),
            metadata_=body.get("metadata"),
        )
        session.add(webhook)
        await uow.commit()
    return webhook, secret


async def update_webhook(
    uow: UnitOfWork, *, webhook_id: str, changes: dict[str, Any], seller_id: str | None
) -> Webhook:
    """``url`` is checked again; ``is_active: true`` resets the failures and resumes the paused
    deliveries, ``false`` disables it (``manual``)."""
    if "url" in changes:
        changes["url"] = await check_target(changes["url"])
    if "events" in changes:
        changes["events"] = check_events(changes["events"], vendor=seller_id is not None)
    async with uow:
        session = uow.session
        webhook = await load_webhook(session, webhook_id, seller_id, lock=True)
        for name, value in changes.items():
            if name == "is_active":
                if value is None:
                    raise invalid("Invalid request: is_active: must not be null")
                if value and not webhook.is_active:
                    webhook.is_active = True
                    webhook.disabled_reason = None
                    webhook.disabled_at = None
                    webhook.consecutive_failures = 0
                elif value:
                    webhook.consecutive_failures = 0
                elif webhook.is_active:
                    webhook.is_active = False
                    webhook.disabled_reason = "manual"
                    webhook.disabled_at = datetime.now(UTC)
            elif name == "metadata":
                webhook.metadata_ = value
            elif name in ("url", "events") and value is None:
                raise invalid(f"Invalid request: {name}: must not be null")
            else:
                setattr(webhook, name, value)
        await uow.commit()
    return webhook


async def delete_webhook(uow: UnitOfWork, *, webhook_id: str, seller_id: str | None) -> None:
    """Soft delete; its pending deliveries end ``failed`` (``endpoint deleted``)."""
    async with uow:
        session = uow.session
        webhook = await load_webhook(session, webhook_id, seller_id, lock=True)
        webhook.deleted_at = datetime.now(UTC)
        webhook.is_active = False
        await session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.webhook_id == webhook.id, WebhookDelivery.status == "pending")
            .values(
                status="failed",
                last_error="endpoint deleted",
                next_attempt_at=None,
                lease_until=None,
                updated_at=func.now(),
            )
        )
        await uow.commit()


async def rotate_secret(
    uow: UnitOfWork, *, webhook_id: str, seller_id: str | None
) -> tuple[Webhook, str]:
    """A new secret; the previous one keeps signing (a second signature) for 24 h."""
    secret = secrets.generate_secret()
    async with uow:
        webhook = await load_webhook(uow.session, webhook_id, seller_id, lock=True)
        webhook.previous_secret_ciphertext = webhook.secret_ciphertext
        webhook.previous_secret_expires_at = datetime.now(UTC) + timedelta(hours=24)
        webhook.secret_ciphertext = secrets.encrypt(secret)
        webhook.secret_hint = secrets.secret_hint(secret)
        await uow.commit()
    return webhook, secret


def signing_secrets(webhook: Webhook, now: datetime) -> list[str]:
    """The secrets an attempt signs with: the current one, then the previous one while its
    24 h last."""
    found = [secrets.decrypt(webhook.secret_ciphertext)]
    if (
        webhook.previous_secret_ciphertext
        and webhook.previous_secret_expires_at
        and webhook.previous_secret_expires_at > now
    ):
        found.append(secrets.decrypt(webhook.previous_secret_ciphertext))
    return found


async def load_delivery(
    session: AsyncSession, webhook: Webhook, delivery_id: str
) -> WebhookDelivery:
    delivery = await session.scalar(
        select(WebhookDelivery).where(
            WebhookDelivery.id == delivery_id, WebhookDelivery.webhook_id == webhook.id
        )
    )
    if delivery is None:
        raise not_found("Webhook delivery", delivery_id)
    return delivery


async def redeliver(
    uow: UnitOfWork, *, webhook_id: str, delivery_id: str, seller_id: str | None
) -> WebhookDelivery:
    """Any status back to ``pending``, due now, with a fresh retry schedule: the same
    ``webhook-id``, a new timestamp and signature."""
    async with uow:
        session = uow.session
        webhook = await load_webhook(session, webhook_id, seller_id)
        if not webhook.is_active:
            raise invalid(f"Webhook {webhook.id} is disabled")
        delivery = await load_delivery(session, webhook, delivery_id)
        delivery.status = "pending"
        delivery.attempt_count = 0
        delivery.next_attempt_at = func.now()
        delivery.lease_until = None
        await uow.commit()
    return delivery


def _window(since: object, until: object) -> tuple[datetime, datetime | None]:
    def parse(value: object) -> datetime:
        if not isinstance(value, str):
            raise invalid(_since_message())
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise invalid(_since_message()) from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)

    start = parse(since)
    end = parse(until) if until is not None else None
    retention = timedelta(days=get_settings().event_retention_days)
    if (end is not None and start > end) or start < datetime.now(UTC) - retention:
        raise invalid(_since_message())
    return start, end


async def replay(
    uow: UnitOfWork,
    *,
    webhook_id: str,
    since: object,
    until: object,
    seller_id: str | None,
) -> int:
    """For every retained event in the window the endpoint subscribes to and may see: the
    missing deliveries are created and ``failed`` ones queued again (``succeeded`` untouched).
    Returns how many deliveries were created or queued."""
    start, end = _window(since, until)
    async with uow:
        session = uow.session
        webhook = await load_webhook(session, webhook_id, seller_id)
        query = select(OutboxEvent.id, OutboxEvent.name).where(OutboxEvent.created_at >= start)
        if end is not None:
            query = query.where(OutboxEvent.created_at <= end)
        if webhook.seller_id is not None:
            query = query.where(OutboxEvent.seller_id == webhook.seller_id)
        if "*" not in webhook.events:
            query = query.where(OutboxEvent.name.in_(webhook.events))
        wanted = [
            (event_id, name)
            for event_id, name in (await session.execute(query)).all()
            if subscribes(webhook.events, webhook.seller_id, name)
        ]
        if not wanted:
            return 0
        created = 0
        for chunk_start in range(0, len(wanted), 1000):
            chunk = wanted[chunk_start : chunk_start + 1000]
            result = await session.execute(
                insert(WebhookDelivery)
                .values([_delivery_row(webhook.id, event_id, name) for event_id, name in chunk])
                .on_conflict_do_nothing(index_elements=["webhook_id", "event_id"])
                .returning(WebhookDelivery.id)
            )
            created += len(result.all())
        requeued = await session.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.webhook_id == webhook.id,
                WebhookDelivery.status == "failed",
                WebhookDelivery.event_id.in_([event_id for event_id, _ in wanted]),
            )
            .values(
                status="pending",
                attempt_count=0,
                next_attempt_at=func.now(),
                lease_until=None,
                updated_at=func.now(),
            )
            .returning(WebhookDelivery.id)
        )
        count = created + len(requeued.all())
        await uow.commit()
    return count


def _delivery_row(webhook_id: str, event_id: str, name: str) -> dict[str, Any]:
    return {
        "id": new_id("whd"),
        "webhook_id": webhook_id,
        "event_id": event_id,
        "event_name": name,
        "status": "pending",
        "attempt_count": 0,
        "next_attempt_at": func.now(),
    }


async def fan_out(session: AsyncSession, event: Event) -> int:
    """The ``webhooks`` subscriber's handler: one pending delivery per active endpoint that
    subscribes to the event and may see it (a seller's only when the event's ``seller_id`` —
    the outbox column, never the payload — is theirs). ``ON CONFLICT DO NOTHING``: an event
    handled twice still makes one delivery per endpoint. Runs in the caller's transaction;
    returns how many deliveries it created."""
    seller_scope = (
        Webhook.seller_id.is_(None)
        if event.seller_id is None
        else or_(Webhook.seller_id.is_(None), Webhook.seller_id == event.seller_id)
    )
    rows = (
        await session.execute(
            select(Webhook.id, Webhook.events, Webhook.seller_id).where(
                Webhook.is_active.is_(True),
                Webhook.deleted_at.is_(None),
                Webhook.events.overlap([event.name, "*"]),
                and_(seller_scope),
            )
        )
    ).all()
    targets = [r.id for r in rows if subscribes(r.events, r.seller_id, event.name)]
    if not targets:
        return 0
    result = await session.execute(
        insert(WebhookDelivery)
        .values([_delivery_row(webhook_id, event.id, event.name) for webhook_id in targets])
        .on_conflict_do_nothing(index_elements=["webhook_id", "event_id"])
        .returning(WebhookDelivery.id)
    )
    return len(result.all())
