"""The migrations build exactly the models, and the database enforces the money rules."""
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from extensions import db
from models import Enrollment, User
from tests import factories


def test_models_and_migrations_agree(app):
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn)
        diff = compare_metadata(context, db.metadata)
    assert diff == [], f"models and migrations differ: {diff}"


def test_one_enrollment_per_user_and_course(app, learner, paid_course):
    factories.enrollment(learner, paid_course)
    with pytest.raises(sa.exc.IntegrityError):
        factories.enrollment(learner, paid_course)
    db.session.rollback()


def test_coupon_codes_and_emails_are_unique(app):
    factories.coupon(code="SAVE10")
    with pytest.raises(sa.exc.IntegrityError):
        factories.coupon(code="save10")
    db.session.rollback()
    factories.user(email="a@example.com")
    with pytest.raises(sa.exc.IntegrityError):
        factories.user(email="A@example.com")
    db.session.rollback()


def test_negative_amounts_are_refused_by_the_database(app, learner):
    with pytest.raises(sa.exc.IntegrityError):
        factories.course(price=-1)
    db.session.rollback()
    course = factories.course()
    with pytest.raises(sa.exc.IntegrityError):
        factories.enrollment(learner, course, amount_paid=-5)
    db.session.rollback()


def test_deleting_a_user_cascades_to_enrollments(app, learner, paid_course):
    factories.enrollment(learner, paid_course)
    db.session.execute(sa.delete(User).where(User.id == learner.id))
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count(Enrollment.id))) == 0
