"""`flask demo seed` gives `make run` a learning path of demo courses, a free one first, once."""
from extensions import db
from models import LearningPath, LearningPathCourse


def test_the_demo_path_is_seeded_once_and_shown(runner, client):
    assert runner.invoke(args=["demo", "seed"]).exit_code == 0
    assert runner.invoke(args=["demo", "seed"]).exit_code == 0
    [path] = db.session.scalars(db.select(LearningPath)).all()
    assert db.session.scalar(db.select(db.func.count()).select_from(LearningPathCourse)) == len(path.steps) >= 3
    assert path.is_published and path.sequential and path.courses[0].is_free
    assert not all(course.is_free for course in path.courses)
    paid = sum(course.price_amount for course in path.courses)
    assert path.currency == "USD" and 0 < path.price_amount < paid  # sold together for less
    page = client.get(f"/paths/{path.slug}").get_data(as_text=True)
    assert all(course.title in page for course in path.courses)
