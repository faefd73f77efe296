"""Staff edit a course page's details and its cover: every mistake is said next to its field
(a cover that is too big, not an image, a decompression bomb), and a good cover is resized,
served with long caching, and replaced or removed."""
import io

import pytest
from PIL import Image

from extensions import db
from models import AuditEvent, Course
from services.courses import covers
from tests import factories
from tests.catalog.images import bomb_png, image_bytes
from tests.helpers import post_form
from tests.staff.test_courses import COURSE

DETAILS = {"topic": "data", "instructor_name": "Grace  Müller", "instructor_bio": "Charts.",
           "learning_outcomes": "- Load data\n- Chart it\n", "requirements": "Python basics",
           "faq": "How long?\nForever.\n\nCertificate?\nYes."}


def _course() -> Course:
    return db.session.scalar(db.select(Course))


def _upload(data: bytes, name: str = "cover.png") -> tuple:
    return (io.BytesIO(data), name)


def test_details_are_saved_parsed_and_shown_again_in_the_form(staff_client):
    response = post_form(staff_client, "/staff/courses/new", {**COURSE, **DETAILS})
    assert response.status_code == 302
    course = _course()
    assert (course.topic, course.instructor_name, course.instructor_bio) == ("data", "Grace Müller", "Charts.")
    assert course.learning_outcomes == ["Load data", "Chart it"] and course.requirements == ["Python basics"]
    assert course.faq == [{"question": "How long?", "answer": "Forever."},
                          {"question": "Certificate?", "answer": "Yes."}]
    form = staff_client.get(f"/staff/courses/{course.id}").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in form
    assert "Load data\nChart it</textarea>" in form and "How long?\nForever.\n\nCertificate?\nYes.</textarea>" in form
    assert '<option selected value="data">Data</option>' in form


def test_every_detail_error_at_once_with_the_others(staff_client):
    response = post_form(staff_client, "/staff/courses/new", {
        **COURSE, "topic": "astrology", "learning_outcomes": "x" * 201,
        "faq": "A question without answer", "instructor_name": "n" * 121, "cover": _upload(b"not an image", "x.png")})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    for field in ("topic", "learning_outcomes", "faq", "cover"):
        assert f'id="{field}-error"' in page, field
    assert db.session.scalar(db.select(db.func.count(Course.id))) == 0


def test_the_api_leaves_details_alone(staff_client, app):
    course = factories.course(topic="data", instructor_name="Grace", learning_outcomes=["One"])
    from services.courses import admin

    data = admin.CourseInput(slug=course.slug, title="Renamed", price_amount=100, currency="USD",
                             enrollment_type="PAID")
    admin.update(course, data, actor=None)
    db.session.commit()
    assert (course.title, course.topic, course.instructor_name, course.learning_outcomes) == \
        ("Renamed", "data", "Grace", ["One"])


def test_cover_upload_is_resized_stored_served_and_audited(staff_client, app):
    response = post_form(staff_client, "/staff/courses/new",
                         {**COURSE, "cover": _upload(image_bytes((2400, 1800))), "cover_alt": "A red square"})
    assert response.status_code == 302
    course = _course()
    assert course.cover_image and course.cover_alt == "A red square"
    served = staff_client.get(f"/covers/{course.cover_image}-large.jpg")
    assert served.status_code == 200 and served.mimetype == "image/jpeg"
    assert Image.open(io.BytesIO(served.data)).size == (1280, 720)
    cache = served.cache_control
    assert cache.public and cache.max_age == 365 * 24 * 3600 and cache.immutable
    small = staff_client.get(f"/covers/{course.cover_image}-small.jpg")
    assert Image.open(io.BytesIO(small.data)).size == (640, 360)
    entry = db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "course.created"))
    assert entry.after["cover_image"] == course.cover_image and entry.after["cover_alt"] == "A red square"
    page = staff_client.get(f"/courses/{course.slug}").get_data(as_text=True)
    assert f'src="/covers/{course.cover_image}-large.jpg" alt="A red square"' in page


def test_a_new_cover_replaces_the_old_files_and_remove_clears_it(staff_client, app):
    post_form(staff_client, "/staff/courses/new", {**COURSE, "cover": _upload(image_bytes(colour=(1, 2, 3)))})
    course = _course()
    first = course.cover_image
    response = post_form(staff_client, f"/staff/courses/{course.id}",
                         {**COURSE, "cover": _upload(image_bytes(colour=(9, 9, 9)))})
    assert response.status_code == 302
    db.session.refresh(course)
    assert course.cover_image != first
    assert not list(covers.directory().glob(f"{first}-*"))  # nothing else used it
    assert staff_client.get(f"/covers/{first}-large.jpg").status_code == 404
    second = course.cover_image
    post_form(staff_client, f"/staff/courses/{course.id}", {**COURSE, "remove_cover": "y"})
    db.session.refresh(course)
    assert course.cover_image is None and not list(covers.directory().glob(f"{second}-*"))


def test_a_cover_shared_by_two_courses_stays_while_one_uses_it(staff_client, app):
    data = image_bytes(colour=(5, 5, 5))
    post_form(staff_client, "/staff/courses/new", {**COURSE, "cover": _upload(data)})
    post_form(staff_client, "/staff/courses/new", {**COURSE, "slug": "second", "cover": _upload(data)})
    first, second = db.session.scalars(db.select(Course).order_by(Course.id)).all()
    assert first.cover_image == second.cover_image
    post_form(staff_client, f"/staff/courses/{first.id}", {**COURSE, "remove_cover": "y"})
    assert staff_client.get(f"/covers/{second.cover_image}-small.jpg").status_code == 200


def test_saving_without_a_file_keeps_the_cover(staff_client, app):
    post_form(staff_client, "/staff/courses/new", {**COURSE, "cover": _upload(image_bytes())})
    course = _course()
    key = course.cover_image
    assert post_form(staff_client, f"/staff/courses/{course.id}", {**COURSE, "title": "New"}).status_code == 302
    db.session.refresh(course)
    assert course.cover_image == key and course.title == "New"


@pytest.mark.parametrize("data,message", [
    (b"GIF89a but not really", "not an image we can read"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "not an image we can read"),
    (bomb_png(), "too large to process"),
    (image_bytes((200, 100)), "at least 320×180"),
])
def test_bad_covers_are_refused_next_to_the_field(staff_client, data, message):
    response = post_form(staff_client, "/staff/courses/new", {**COURSE, "cover": _upload(data)})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="cover-error"' in page and message in page
    assert db.session.scalar(db.select(Course)) is None


def test_too_big_a_file_is_a_form_error_not_an_error_page(staff_client, app):
    app.config["COURSE_COVER_MAX_BYTES"] = 50_000
    noisy = image_bytes((1200, 1200), "BMP")[:60_000]  # over the limit, under the request's
    response = post_form(staff_client, "/staff/courses/new", {**COURSE, "cover": _upload(noisy, "big.png")})
    assert response.status_code == 422
    assert "a cover can be at most 49 kB" in response.get_data(as_text=True)
    # Beyond even the request's limit: the form again, with the same kind of message.
    huge = b"\x00" * (2 * 50_000 + 1024 * 1024 + 10)
    response = post_form(staff_client, "/staff/courses/new", {**COURSE, "cover": _upload(huge, "huge.png")})
    page = response.get_data(as_text=True)
    assert response.status_code == 413 and 'id="cover-error"' in page and "The file is too large" in page
    assert 'name="title"' in page


def test_other_staff_pages_keep_the_site_limit(staff_client, app):
    response = post_form(staff_client, "/staff/coupons/new", {"name": "x" * (3 * 1024 * 1024)})
    assert response.status_code == 413 and "too large" in response.get_data(as_text=True)


def test_only_staff_get_the_larger_body_limit(client, app):
    """The cover allowance is for staff: a visitor's large POST is refused at the site's limit,
    before anything parses it."""
    app.config["COURSE_COVER_MAX_BYTES"] = 2 * 1024 * 1024  # allowance 5 MiB, site limit 2 MiB
    body = {"title": "x" * (3 * 1024 * 1024)}
    response = post_form(client, "/staff/courses/new", body)
    assert response.status_code == 413 and 'id="cover-error"' not in response.get_data(as_text=True)


def test_cover_sizes_read_in_words():
    assert covers.size_in_words(50_000) == "49 kB"
    assert covers.size_in_words(5 * 1024 * 1024) == "5.0 MB"


def test_cover_route_serves_only_cover_files(client, app):
    covers.directory().mkdir(parents=True, exist_ok=True)
    (covers.directory() / "notes.txt").write_text("secret")
    for name in ("notes.txt", "..%2Fnotes.txt", "0123456789abcdef0123-large.jpg"):
        response = client.get(f"/covers/{name}")
        assert response.status_code == 404 and "Set-Cookie" not in response.headers


def test_staff_breadcrumbs_end_with_the_current_page(staff_client, app):
    course = factories.course(title="Rust", lectures=2)
    lecture = course.lectures[1]
    pages = {f"/staff/courses/{course.id}": ('href="/staff/courses"', "Rust"),
             "/staff/courses/new": ('href="/staff/courses"', "New course"),
             f"/staff/courses/{course.id}/lectures/{lecture.id}": (f'href="/staff/courses/{course.id}#lectures"',
                                                                   "Lecture 2"),
             f"/staff/enrollments/{course.id}": ('href="/staff/enrollments"', "Rust")}
    for path, (link, current) in pages.items():
        page = staff_client.get(path).get_data(as_text=True)
        start = page.index('<nav class="breadcrumb" aria-label="Breadcrumb">')
        trail = page[start:page.index("</nav>", start)]
        assert trail.index(link) < trail.index(f'<span aria-current="page">{current}</span>'), path


def test_only_whole_cover_names_are_cover_names():
    assert covers.is_cover_filename("0123456789abcdef0123-small.jpg")
    for name in ("0123456789abcdef0123-small.jpg\n", "x0123456789abcdef0123-small.jpg",
                 "0123456789abcdef0123-small.jpg.txt", "../0123456789abcdef0123-small.jpg"):
        assert not covers.is_cover_filename(name), name
