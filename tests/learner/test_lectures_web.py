"""Lecture pages: access, previous/next, marking complete (htmx fragment and plain form), heartbeats."""
import re

import pytest

from extensions import db
from models import Enrollment, EnrollmentStatus, LectureProgress
from tests import factories
from tests.helpers import csrf_token


def lecture_url(course, lecture) -> str:
    return f"/courses/{course.slug}/lectures/{lecture.id}"


@pytest.fixture
def enrolled(client, learner, paid_course, sign_in):
    enrollment = factories.enrollment(learner, paid_course, paid=True)
    sign_in(client, learner)
    return enrollment


def _reload(enrollment: Enrollment) -> Enrollment:
    db.session.expire_all()
    return db.session.get(Enrollment, enrollment.id)


def test_visitors_see_preview_lectures(client, paid_course):
    response = client.get(lecture_url(paid_course, paid_course.lectures[0]))
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Content 1" in page and "free preview" in page
    assert "Mark complete" not in page


def test_visitors_are_sent_to_sign_in_for_other_lectures(client, paid_course):
    response = client.get(lecture_url(paid_course, paid_course.lectures[1]))
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_signed_in_learner_without_enrollment_is_told_to_enroll(client, learner, paid_course, sign_in):
    sign_in(client, learner)
    response = client.get(lecture_url(paid_course, paid_course.lectures[1]))
    page = response.get_data(as_text=True)
    assert response.status_code == 403 and "You are not enrolled in this course." in page
    assert "Content 2" not in page and f'href="/courses/{paid_course.slug}"' in page


@pytest.mark.parametrize("status,words", [("REVOKED", "revoked"), ("SUSPENDED", "dispute"), ("EXPIRED", "expired")])
def test_inaccessible_enrollment_gives_no_content_and_says_why(client, learner, paid_course, status, words, sign_in):
    factories.enrollment(learner, paid_course, status=status, paid=True)
    sign_in(client, learner)
    response = client.get(lecture_url(paid_course, paid_course.lectures[2]))
    page = response.get_data(as_text=True)
    assert response.status_code == 403 and words in page and "Content 3" not in page
    complete = client.post(lecture_url(paid_course, paid_course.lectures[2]) + "/complete",
                           data={"csrf_token": csrf_token(client)})
    assert complete.status_code == 403


def test_enrolled_learner_sees_content_progress_and_neighbours(client, enrolled, paid_course):
    first, second, third = paid_course.lectures
    page = client.get(lecture_url(paid_course, second)).get_data(as_text=True)
    assert "Content 2" in page and "Mark complete" in page and "0 of 3" in page
    assert f'rel="prev" class="button button-secondary" href="{lecture_url(paid_course, first)}"' in page
    assert f'rel="next" class="button button-secondary" href="{lecture_url(paid_course, third)}"' in page
    assert 'hx-trigger="every 60s' in page  # the heartbeat that measures time spent
    enrollment = _reload(enrolled)
    assert enrollment.current_lecture_id == second.id and enrollment.last_accessed_at is not None
    assert enrollment.streak_days == 1


def test_first_and_last_lectures_have_one_neighbour(client, enrolled, paid_course):
    first_page = client.get(lecture_url(paid_course, paid_course.lectures[0])).get_data(as_text=True)
    last_page = client.get(lecture_url(paid_course, paid_course.lectures[2])).get_data(as_text=True)
    assert 'rel="prev"' not in first_page and 'rel="next"' in first_page
    assert 'rel="next"' not in last_page and 'rel="prev"' in last_page


def test_unknown_lecture_or_lecture_of_another_course_is_404(client, enrolled, paid_course, free_course):
    assert client.get(f"/courses/{paid_course.slug}/lectures/999999").status_code == 404
    assert client.get(lecture_url(paid_course, free_course.lectures[0])).status_code == 404
    assert client.get(f"/courses/nope/lectures/{paid_course.lectures[0].id}").status_code == 404
    assert client.get(f"/courses/{paid_course.slug}/lectures/abc").status_code == 404


def test_htmx_mark_complete_returns_the_progress_fragment(client, enrolled, paid_course):
    lecture = paid_course.lectures[0]
    response = client.post(lecture_url(paid_course, lecture) + "/complete", headers={
        "HX-Request": "true", "X-CSRFToken": csrf_token(client, lecture_url(paid_course, lecture))})
    fragment = response.get_data(as_text=True)
    assert response.status_code == 200
    assert fragment.lstrip().startswith("<section id=\"lecture-progress\"") and "<html" not in fragment
    assert "33%" in fragment and "1 of 3" in fragment and 'aria-valuenow="33"' in fragment
    assert "You completed this lecture" in fragment and "Mark complete" not in fragment
    assert f'id="outline-lecture-{lecture.id}"' in fragment and 'hx-swap-oob="true"' in fragment
    assert _reload(enrolled).completed_lectures == 1


def test_boosted_requests_get_the_full_page_flow(client, enrolled, paid_course):
    lecture = paid_course.lectures[0]
    response = client.post(lecture_url(paid_course, lecture) + "/complete", headers={
        "HX-Request": "true", "HX-Boosted": "true", "X-CSRFToken": csrf_token(client)})
    assert response.status_code == 302


def test_plain_form_post_completes_and_redirects_back(client, enrolled, paid_course):
    lecture = paid_course.lectures[1]
    response = client.post(lecture_url(paid_course, lecture) + "/complete", data={"csrf_token": csrf_token(client)})
    assert response.status_code == 302 and response.headers["Location"].endswith(lecture_url(paid_course, lecture))
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Lecture marked complete." in page and "1 of 3" in page and "You completed this lecture" in page


def test_mark_complete_without_csrf_is_refused(client, enrolled, paid_course):
    response = client.post(lecture_url(paid_course, paid_course.lectures[0]) + "/complete")
    assert response.status_code == 400
    assert _reload(enrolled).completed_lectures == 0


def test_marking_twice_through_the_web_counts_once(client, enrolled, paid_course):
    url = lecture_url(paid_course, paid_course.lectures[0]) + "/complete"
    for _ in range(2):
        client.post(url, data={"csrf_token": csrf_token(client)})
    rows = db.session.scalars(db.select(LectureProgress).where(LectureProgress.enrollment_id == enrolled.id)).all()
    assert len(rows) == 1 and _reload(enrolled).completed_lectures == 1


def test_completing_every_lecture_links_to_a_working_certificate(client, enrolled, paid_course, learner):
    token = csrf_token(client)
    for lecture in paid_course.lectures:
        fragment = client.post(lecture_url(paid_course, lecture) + "/complete",
                               headers={"HX-Request": "true", "X-CSRFToken": token}).get_data(as_text=True)
    assert "100%" in fragment and "3 of 3" in fragment
    enrollment = _reload(enrolled)
    assert enrollment.status == EnrollmentStatus.COMPLETED and enrollment.completed_at is not None
    link = re.search(r'href="(/certificates/cert_[^"]+)"', fragment).group(1)
    assert link == f"/certificates/{enrollment.certificate_id}"
    certificate = client.get(link).get_data(as_text=True)
    assert "Lena Learner" in certificate and "Python 101" in certificate


def test_heartbeat_counts_time_for_enrolled_learners_only(client, enrolled, paid_course, learner):
    url = lecture_url(paid_course, paid_course.lectures[0])
    client.get(url)
    response = client.post(url + "/heartbeat", headers={"HX-Request": "true", "X-CSRFToken": csrf_token(client)})
    assert response.status_code == 204
    assert _reload(enrolled).last_accessed_at is not None


def test_heartbeat_from_a_visitor_is_a_harmless_no_op(client, paid_course):
    url = lecture_url(paid_course, paid_course.lectures[0])
    assert client.post(url + "/heartbeat", headers={"X-CSRFToken": csrf_token(client)}).status_code == 204
    assert db.session.scalar(db.select(db.func.count(LectureProgress.id))) == 0


def test_unpublished_course_stays_open_to_its_learners_only(client, learner, sign_in):
    draft = factories.course(published=False)
    factories.enrollment(learner, draft)
    sign_in(client, learner)
    assert client.get(lecture_url(draft, draft.lectures[1])).status_code == 200


def test_unpublished_course_is_hidden_from_everyone_else(client, learner, sign_in):
    draft = factories.course(published=False)
    sign_in(client, learner)
    assert client.get(lecture_url(draft, draft.lectures[0])).status_code == 404


def test_a_nul_byte_in_the_slug_is_a_400_not_a_500(client, enrolled, paid_course):
    assert client.get(f"/courses/a%00b/lectures/{paid_course.lectures[0].id}").status_code == 400
