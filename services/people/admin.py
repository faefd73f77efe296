"""User administration: listing accounts and changing roles (admins only).

The view checks that the actor is signed in; this module checks that the actor is an admin,
so no other caller can change a role by accident. The operator's command line
(`flask users set-role`) has no account: it names itself as the actor (`COMMAND_LINE`) and is
audited like an admin.
"""
from __future__ import annotations

import sqlalchemy as sa

from extensions import db
from models import User, UserRole
from services import audit
from services.errors import Conflict, DomainError, Forbidden, NotFound

COMMAND_LINE = "command line"  # the actor label of `flask users set-role`: whoever runs it has the server


def search(*, q: str = "", role: str = "", page: int = 1, per_page: int = 50):
    query = db.select(User)
    if q.strip():
        pattern = f"%{q.strip().lower()}%"
        query = query.where(sa.or_(User.email.like(pattern), sa.func.lower(User.name).like(pattern)))
    if role in UserRole.__members__:
        query = query.where(User.role == UserRole(role))
    return db.paginate(query.order_by(User.created_at.desc(), User.id.desc()), page=page, per_page=per_page,
                       error_out=False)


def get(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("We could not find that account.", code="USER_NOT_FOUND")
    return user


ROLE_MEANS = {UserRole.LEARNER: "no staff area", UserRole.STAFF: "the staff area",
              UserRole.ADMIN: "the staff area and the power to change roles"}


def describe_role_change(user: User, role: str) -> str:
    """What giving `user` the role `role` does, in words, for the confirmation staff answer."""
    try:
        new_role = UserRole(role)
    except ValueError:
        return f"{user.email} keeps the role {user.role.value.lower()}."
    return (f"{user.email} goes from {user.role.value.lower()} to {new_role.value.lower()}: "
            f"{ROLE_MEANS[new_role]}, from their next page.")


def change_role(user: User, role: str, *, actor: User | None, actor_label: str | None = None) -> User:
    """Give `user` a new role. Admins only (or the command line, `actor=None` with
    `actor_label=COMMAND_LINE`); nobody changes their own role (no self-lock-out)."""
    if actor is None and actor_label != COMMAND_LINE:
        raise Forbidden("Only admins can change roles.", code="ADMIN_ONLY")
    if actor is not None and not actor.is_admin:
        raise Forbidden("Only admins can change roles.", code="ADMIN_ONLY")
    try:
        new_role = UserRole(role)
    except ValueError as error:
        raise DomainError("Choose learner, staff or admin.", code="INVALID_ROLE", field="role") from error
    if actor is not None and user.id == actor.id:
        raise Conflict("You cannot change your own role; ask another admin.", code="OWN_ROLE")
    if user.role == new_role:
        return user
    before = {"role": user.role.value}
    user.role = new_role
    db.session.flush()
    audit.record("user.role_changed", user, actor=actor, actor_label=actor_label, before=before,
                 after={"role": new_role.value})
    return user
