"""The audit trail: one function that every state change and staff action calls, and its staff list."""
from typing import Any

from extensions import db
from models import AuditEvent, User


def record(action: str, subject: Any, *, actor: User | None = None, actor_label: str | None = None,
           message: str | None = None, before: dict | None = None, after: dict | None = None) -> AuditEvent:
    """Add an audit entry for `subject` (a model instance) in the caller's transaction."""
    event = AuditEvent(
        action=action,
        subject_type=type(subject).__name__,
        subject_id=str(subject.id),
        actor_id=actor.id if actor else None,
        actor_label=actor_label or (actor.email if actor else "system"),
        message=message,
        before=_jsonable(before),
        after=_jsonable(after),
    )
    db.session.add(event)
    return event


def search(*, action: str = "", subject: str = "", actor: str = "", page: int = 1):
    """A page of entries for the staff audit page, newest first (`subject` is "Type" or "Type:id")."""
    query = db.select(AuditEvent)
    if action:
        query = query.where(AuditEvent.action.like(f"{action}%"))
    if subject:
        kind, _, ident = subject.partition(":")
        query = query.where(AuditEvent.subject_type == kind)
        if ident:
            query = query.where(AuditEvent.subject_id == ident)
    if actor:
        query = query.where(AuditEvent.actor_label.like(f"%{actor.lower()}%"))
    return db.paginate(query.order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc()), page=page,
                       per_page=50, error_out=False)


def snapshot(obj: Any, fields: list[str]) -> dict:
    """The listed attributes of `obj` as a JSON-safe dict, for `before`/`after`."""
    return {name: getattr(obj, name) for name in fields}


def _jsonable(values: dict | None) -> dict | None:
    if values is None:
        return None
    return {key: value if isinstance(value, (str, int, float, bool, type(None))) else str(value)
            for key, value in values.items()}
