"""services.learning.progress: completion, progress math, time spent, streaks and certificates."""
from datetime import date, timedelta

import pytest

from extensions import db
from models import EnrollmentStatus, LectureProgress
from services.learning import progress
from tests import factories
from tests.learner.builders import T0, add_lecture, completed_rows, minutes


@pytest.fixture
def setup(learner, paid_course):
    enrollment = factories.enrollment(learner, paid_course, paid=True)
    return enrollment, paid_course.lectures


def test_completing_the_same_lecture_twice_counts_once(setup):
    enrollment, lectures = setup
    assert progress.mark_complete(enrollment, lectures[0], T0) is True
    assert progress.mark_complete(enrollment, lectures[0], T0 + minutes(1)) is False
    db.session.commit()
    assert completed_rows(enrollment) == 1
    assert (enrollment.completed_lectures, enrollment.total_lectures) == (1, 3)
    assert enrollment.progress == pytest.approx(33.33)
    assert progress.summarize(enrollment).percent == 33


def test_viewing_sets_current_lecture_and_does_not_complete(setup):
    enrollment, lectures = setup
    progress.record_view(enrollment, lectures[1], T0)
    db.session.commit()
    assert enrollment.current_lecture_id == lectures[1].id
    assert enrollment.last_accessed_at == T0
    assert enrollment.completed_lectures == 0 and enrollment.progress == 0
    assert enrollment.status == EnrollmentStatus.ACTIVE


def test_all_lectures_complete_the_enrollment_and_issue_a_certificate(setup):
    enrollment, lectures = setup
    for i, lecture in enumerate(lectures):
        assert enrollment.certificate_id is None
        progress.mark_complete(enrollment, lecture, T0 + minutes(i))
    db.session.commit()
    assert enrollment.progress == 100
    assert enrollment.status == EnrollmentStatus.COMPLETED
    assert enrollment.completed_at == T0 + minutes(2)
    assert enrollment.certificate_earned and enrollment.certificate_earned_at == T0 + minutes(2)
    assert enrollment.certificate_id.startswith("cert_") and len(enrollment.certificate_id) >= 25
    first_id = enrollment.certificate_id
    progress.mark_complete(enrollment, lectures[0], T0 + minutes(10))
    assert enrollment.certificate_id == first_id and enrollment.completed_at == T0 + minutes(2)


def test_certificate_ids_differ_between_learners(paid_course):
    ids = set()
    for _ in range(3):
        enrollment = factories.enrollment(factories.user(), paid_course)
        for lecture in paid_course.lectures:
            progress.mark_complete(enrollment, lecture, T0)
        ids.add(enrollment.certificate_id)
    assert len(ids) == 3


def test_a_lecture_added_later_lowers_progress_but_keeps_the_certificate(setup):
    enrollment, lectures = setup
    for lecture in lectures:
        progress.mark_complete(enrollment, lecture, T0)
    certificate = enrollment.certificate_id
    bonus = add_lecture(enrollment.course)
    summary = progress.recompute(enrollment, T0 + minutes(5))
    assert (summary.completed, summary.total, summary.percent) == (3, 4, 75)
    assert enrollment.certificate_id == certificate and enrollment.status == EnrollmentStatus.COMPLETED
    progress.mark_complete(enrollment, bonus, T0 + minutes(6))
    assert enrollment.progress == 100


def test_a_removed_lecture_never_pushes_progress_past_100(setup):
    enrollment, lectures = setup
    progress.mark_complete(enrollment, lectures[0], T0)
    progress.mark_complete(enrollment, lectures[1], T0)
    db.session.commit()
    # The course shrinks to one lecture, which the learner had completed.
    course = enrollment.course
    for lecture in (lectures[1], lectures[2]):
        course.lectures.remove(lecture)
    db.session.commit()
    summary = progress.recompute(enrollment, T0 + minutes(1))
    assert (summary.completed, summary.total, summary.exact) == (1, 1, 100.0)
    assert enrollment.status == EnrollmentStatus.COMPLETED and enrollment.certificate_earned


def test_removing_every_lecture_gives_zero_not_a_division_error(setup):
    enrollment, lectures = setup
    progress.mark_complete(enrollment, lectures[0], T0)
    enrollment.course.lectures.clear()
    db.session.commit()
    summary = progress.recompute(enrollment, T0)
    assert (summary.completed, summary.total, summary.exact) == (0, 0, 0.0)
    assert enrollment.status == EnrollmentStatus.ACTIVE and not enrollment.certificate_earned


def test_a_completion_row_for_a_lecture_of_another_course_does_not_count(setup, free_course):
    enrollment, lectures = setup
    db.session.add(LectureProgress(enrollment_id=enrollment.id, lecture_id=free_course.lectures[0].id,
                                   first_viewed_at=T0, last_viewed_at=T0, completed_at=T0))
    db.session.commit()
    assert progress.recompute(enrollment, T0).completed == 0


@pytest.mark.parametrize("completed,total,expected", [
    (0, 3, 0.0), (1, 3, 33.33), (2, 3, 66.67), (3, 3, 100.0), (5, 3, 100.0), (-1, 3, 0.0), (1, 0, 0.0),
    (199, 200, 99.5)])
def test_percent_is_clamped(completed, total, expected):
    assert progress.percent(completed, total) == expected


def test_display_percent_rounds_down_so_100_means_done():
    summary = progress.ProgressSummary(completed=199, total=200, exact=progress.percent(199, 200))
    assert summary.percent == 99 and not summary.is_complete


def test_time_spent_counts_short_gaps_for_the_lecture_being_studied(setup):
    enrollment, lectures = setup
    progress.record_view(enrollment, lectures[0], T0)
    progress.touch(enrollment, T0 + minutes(1))  # a heartbeat
    progress.record_view(enrollment, lectures[1], T0 + minutes(4))
    db.session.commit()
    assert enrollment.total_time_spent == 4 * 60
    rows = {row.lecture_id: row for row in db.session.scalars(db.select(LectureProgress))}
    assert rows[lectures[0].id].time_spent_seconds == 4 * 60
    assert rows[lectures[1].id].time_spent_seconds == 0


def test_time_spent_ignores_gaps_longer_than_the_idle_cutoff(setup):
    enrollment, lectures = setup
    progress.record_view(enrollment, lectures[0], T0)
    progress.record_view(enrollment, lectures[0], T0 + progress.IDLE_CUTOFF + timedelta(seconds=1))
    progress.touch(enrollment, T0 + progress.IDLE_CUTOFF + timedelta(seconds=31))
    assert enrollment.total_time_spent == 30


def test_an_event_older_than_the_last_one_adds_no_time_and_keeps_last_access(setup):
    enrollment, lectures = setup
    progress.record_view(enrollment, lectures[0], T0)
    progress.touch(enrollment, T0 - minutes(1))
    assert enrollment.total_time_spent == 0 and enrollment.last_accessed_at == T0


def test_streak_grows_across_midnight_utc(setup):
    enrollment, lectures = setup
    late = T0.replace(hour=23, minute=58)
    progress.record_view(enrollment, lectures[0], late)
    assert enrollment.streak_days == 1
    progress.touch(enrollment, late + minutes(3))  # 00:01 the next UTC day
    assert enrollment.streak_days == 2 and enrollment.last_activity_on == (late + minutes(3)).date()
    assert enrollment.total_time_spent == 180  # the interval across midnight still counts


def test_streak_same_day_twice_counts_once_and_a_gap_restarts_it(setup):
    enrollment, lectures = setup
    for day in range(3):
        progress.touch(enrollment, T0 + timedelta(days=day))
        progress.touch(enrollment, T0 + timedelta(days=day, hours=5))
    assert enrollment.streak_days == 3
    progress.touch(enrollment, T0 + timedelta(days=5))  # days 3 and 4 were missed
    assert enrollment.streak_days == 1


@pytest.mark.parametrize("last,streak,today,expected", [
    (None, 0, date(2026, 1, 1), 1),
    (date(2026, 1, 1), 4, date(2026, 1, 1), 4),
    (date(2026, 1, 1), 4, date(2026, 1, 2), 5),
    (date(2026, 12, 31), 4, date(2027, 1, 1), 5),  # across a year boundary
    (date(2026, 1, 1), 4, date(2026, 1, 3), 1),
    (date(2026, 1, 5), 4, date(2026, 1, 4), 4),  # a late event
])
def test_next_streak(last, streak, today, expected):
    assert progress.next_streak(last, streak, today) == expected


def test_current_streak_lapses_after_a_missed_day(setup):
    enrollment, _ = setup
    progress.touch(enrollment, T0)
    progress.touch(enrollment, T0 + timedelta(days=1))
    assert progress.current_streak(enrollment, (T0 + timedelta(days=2)).date()) == 2
    assert progress.current_streak(enrollment, (T0 + timedelta(days=3)).date()) == 0


def test_a_lecture_of_another_course_is_refused(setup, free_course):
    enrollment, _ = setup
    from services.errors import NotFound
    with pytest.raises(NotFound):
        progress.mark_complete(enrollment, free_course.lectures[0], T0)
