"""POST/GET /api/payments/enrollments and GET /api/payments/enrollments/course/<courseId>."""
from extensions import db
from models import Enrollment, EnrollmentStatus
from tests import factories

ENROLL = "/api/payments/enrollments"


def test_free_course_enrolls_and_repeating_is_idempotent(client, learner, auth, free_course):
    first = client.post(ENROLL, json={"courseId": free_course.slug}, headers=auth)
    assert first.status_code == 201
    body = first.get_json()
    assert body["created"] is True and body["enrollment"]["status"] == "ACTIVE"
    assert body["enrollment"]["hasAccess"] is True and body["enrollment"]["amountPaid"] == 0
    second = client.post(ENROLL, json={"courseId": free_course.id}, headers=auth)
    assert second.status_code == 200 and second.get_json()["created"] is False
    assert second.get_json()["enrollment"]["id"] == body["enrollment"]["id"]
    assert db.session.scalar(db.select(db.func.count(Enrollment.id))) == 1


def test_paid_course_is_refused_with_402(client, auth, paid_course):
    response = client.post(ENROLL, json={"courseId": paid_course.slug}, headers=auth)
    assert response.status_code == 402 and response.get_json()["error"]["code"] == "PAYMENT_REQUIRED"
    factories.coupon(code="HALF", percent=50)
    half = client.post(ENROLL, json={"courseId": paid_course.slug, "couponCode": "HALF"}, headers=auth)
    assert half.status_code == 402
    assert db.session.scalar(db.select(db.func.count(Enrollment.id))) == 0


def test_paid_course_with_a_full_discount_enrolls(client, auth, paid_course):
    factories.coupon(code="ALLFREE", percent=100)
    response = client.post(ENROLL, json={"courseId": paid_course.slug, "couponCode": "allfree"}, headers=auth)
    assert response.status_code == 201
    enrollment = response.get_json()["enrollment"]
    assert enrollment["discountApplied"] == 9900 and enrollment["amountPaid"] == 0


def test_refused_coupon_on_enrollment_is_422(client, auth, paid_course):
    response = client.post(ENROLL, json={"courseId": paid_course.slug, "couponCode": "MISSING"}, headers=auth)
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "COUPON_NOT_FOUND"
    assert "couponCode" in response.get_json()["error"]["fields"]


def test_invitation_only_course_needs_an_invitation(client, auth):
    course = factories.course(enrollment_type="INVITATION_ONLY", price=0)
    response = client.post(ENROLL, json={"courseId": course.slug}, headers=auth)
    assert response.status_code == 403
    assert response.get_json()["error"]["fields"] == {"invitationCode": response.get_json()["error"]["message"]}


def test_enroll_field_errors(client, auth):
    for body, fields in [({}, {"courseId"}), ({"courseId": 3.5}, {"courseId"}),
                         ({"courseId": "x", "couponCode": []}, {"couponCode"}),
                         ({"courseId": "x", "invitationCode": "y" * 41}, {"invitationCode"})]:
        response = client.post(ENROLL, json=body, headers=auth)
        assert response.status_code == 400 and set(response.get_json()["error"]["fields"]) == fields, body


def test_enrollment_endpoints_require_authentication(client, free_course):
    for response in (client.post(ENROLL, json={"courseId": free_course.slug}), client.get(ENROLL),
                     client.get(f"{ENROLL}/course/{free_course.slug}")):
        assert response.status_code == 401 and response.headers["WWW-Authenticate"].startswith("Bearer")


def test_list_shows_only_the_callers_enrollments(client, learner, other_learner, auth, other_auth,
                                                 paid_course, free_course):
    factories.enrollment(learner, paid_course, paid=True)
    factories.enrollment(other_learner, free_course)
    mine = client.get(ENROLL, headers=auth).get_json()["enrollments"]
    assert [(item["courseId"], item["userId"], item["paymentStatus"]) for item in mine] == \
        [(paid_course.id, learner.id, "PAID")]
    assert mine[0]["amountPaid"] == 9900 and mine[0]["currency"] == "USD"
    theirs = client.get(ENROLL, headers=other_auth).get_json()["enrollments"]
    assert [item["userId"] for item in theirs] == [other_learner.id]


def test_course_enrollment_is_the_callers_own(client, learner, other_learner, auth, other_auth, paid_course):
    factories.enrollment(learner, paid_course, paid=True, status="SUSPENDED")
    own = client.get(f"{ENROLL}/course/{paid_course.slug}", headers=auth)
    assert own.status_code == 200
    assert own.get_json()["enrollment"]["status"] == EnrollmentStatus.SUSPENDED.value
    assert own.get_json()["enrollment"]["hasAccess"] is False
    by_id = client.get(f"{ENROLL}/course/{paid_course.id}", headers=auth)
    assert by_id.get_json()["enrollment"]["id"] == own.get_json()["enrollment"]["id"]
    other = client.get(f"{ENROLL}/course/{paid_course.slug}", headers=other_auth)
    assert other.status_code == 404 and other.get_json()["error"]["code"] == "ENROLLMENT_NOT_FOUND"
    unknown = client.get(f"{ENROLL}/course/no-such-course", headers=auth)
    assert unknown.status_code == 404 and unknown.get_json()["error"]["code"] == "COURSE_NOT_FOUND"


def test_odd_course_keys_are_404_not_500(client, auth):
    for key in ("¹", "²³", "٣", "99999999999999999999", "0"):
        response = client.get(f"{ENROLL}/course/{key}", headers=auth)
        assert response.status_code == 404, key
        posted = client.post(ENROLL, json={"courseId": key}, headers=auth)
        assert posted.status_code == 404, key


def test_nul_bytes_never_reach_the_database(client, auth):
    # PostgreSQL refuses NUL in text: these must be refused (4xx) before any query, never a 500.
    for path in ("/api/payments/sessions/a%00b", "/api/payments/sessions/stripe/cs_%00",
                 f"{ENROLL}/course/a%00b"):
        assert 400 <= client.get(path, headers=auth).status_code < 500, path
    for body in ({"courseId": "a\u0000b"}, {"courseId": "git-basics", "couponCode": "X\u0000"}):
        assert 400 <= client.post(ENROLL, json=body, headers=auth).status_code < 500, body
    response = client.post("/api/payments/coupons/validate", json={"code": "A\u0000", "courseId": "x"}, headers=auth)
    assert 400 <= response.status_code < 500


# The spec's Enrollment model (payment-enrollment-spec.md, "Database Schema"), field by field.
SPEC_ENROLLMENT_FIELDS = [
    "id", "userId", "courseId", "enrolledAt", "completedAt", "status", "progress", "currentLectureId",
    "enrollmentSource", "completedLectures", "totalLectures", "paymentStatus", "paymentId", "amountPaid",
    "discountApplied", "totalTimeSpent", "streakDays", "lastAccessedAt", "certificateEarned", "certificateEarnedAt",
    "type", "source", "amount", "currency", "paidAt", "expiresAt", "notes", "completionPercentage",
]


def test_every_spec_enrollment_field_is_present_with_aliases_equal_to_their_canonical_field(client, learner, auth,
                                                                                          paid_course):
    from datetime import datetime, timedelta, timezone

    earned = datetime(2026, 11, 20, 9, 30, tzinfo=timezone.utc)
    factories.enrollment(learner, paid_course, status="COMPLETED", paid=True, progress=100.0,
                         completed_lectures=3, total_time_spent=5400, streak_days=4, certificate_earned=True,
                         certificate_earned_at=earned, certificate_id="cert_abc", notes="Gift from ACME",
                         current_lecture_id=paid_course.lectures[-1].id, last_accessed_at=earned,
                         expires_at=earned + timedelta(days=3650))
    enrollment = client.get(ENROLL, headers=auth).get_json()["enrollments"][0]
    assert set(SPEC_ENROLLMENT_FIELDS) <= set(enrollment)
    assert enrollment["enrollmentSource"] == enrollment["source"] == "DIRECT"
    assert enrollment["completionPercentage"] == enrollment["progress"] == 100
    assert enrollment["amount"] == enrollment["amountPaid"] == 9900
    assert (enrollment["totalTimeSpent"], enrollment["streakDays"], enrollment["notes"]) == (5400, 4, "Gift from ACME")
    assert enrollment["currentLectureId"] == paid_course.lectures[-1].id
    assert enrollment["certificateEarnedAt"] == "2026-11-20T09:30:00Z"
    assert enrollment["certificateUrl"] == "http://127.0.0.1:5000/certificates/cert_abc"
    assert enrollment["access"] == {"allowed": True, "code": "ENROLLED", "reason": "You are enrolled."}


def test_access_says_why_a_lapsed_enrollment_gives_none(client, learner, auth, paid_course):
    factories.enrollment(learner, paid_course, status="REVOKED", status_reason="refunded")
    enrollment = client.get(f"{ENROLL}/course/{paid_course.slug}", headers=auth).get_json()["enrollment"]
    assert enrollment["hasAccess"] is False and enrollment["access"]["allowed"] is False
    assert enrollment["access"]["code"] == "REVOKED" and "refunded" in enrollment["access"]["reason"]
    assert enrollment["certificateUrl"] is None
def _committed_waitlist(user, course) -> list[str]:
    """Waitlist rows as another connection sees them: only what the request committed."""
    from models import WaitlistEntry

    with db.engine.connect() as conn:
        return list(conn.scalars(db.select(WaitlistEntry.status).where(
            WaitlistEntry.user_id == user.id, WaitlistEntry.course_id == course.id)))


def test_full_discount_on_a_full_course_commits_the_waitlist_entry(client, auth, learner, other_learner):
    course = factories.course(price=9900, capacity=1)
    factories.enrollment(other_learner, course, paid=True)
    factories.coupon(code="ALLFREE", percent=100)
    response = client.post(ENROLL, json={"courseId": course.slug, "couponCode": "ALLFREE"}, headers=auth)
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "WAITLISTED"
    assert _committed_waitlist(learner, course) == ["WAITING"]


def test_a_full_free_course_commits_the_waitlist_entry(client, auth, learner, other_learner):
    course = factories.course(price=0, enrollment_type="FREE", capacity=1)
    factories.enrollment(other_learner, course)
    response = client.post(ENROLL, json={"courseId": course.slug}, headers=auth)
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "WAITLISTED"
    assert _committed_waitlist(learner, course) == ["WAITING"]
