"""Fixtures of the learning path tests: a path of a free course then two paid ones."""
import pytest

from tests import factories


@pytest.fixture
def courses(app):
    return [factories.course(slug="git-first", title="Git First", price=0, enrollment_type="FREE", lectures=2),
            factories.course(slug="python-next", title="Python Next", price=5000, lectures=2),
            factories.course(slug="flask-last", title="Flask Last", price=7000, lectures=2)]


@pytest.fixture
def path(courses):
    return factories.learning_path(courses, slug="web-developer", name="Web Developer", sequential=True)
