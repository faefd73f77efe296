"""What a course page tells a buyer, the free preview for anyone, and the site's navigation
aids: skip link, breadcrumbs ending with the current page, favicon."""
from tests import factories

FAQ = [{"question": "How long do I have access?", "answer": "Forever."},
       {"question": "Is there a certificate?", "answer": "Yes."}]


def _detailed_course(**fields):
    return factories.course(slug="detailed", title="Detailed", topic="data", instructor_name="Grace Müller",
                            instructor_bio="Grace turns spreadsheets into charts.", cover_image="b" * 20,
                            cover_alt="A bar chart", learning_outcomes=["Load data", "Chart it"],
                            requirements=["Python basics"], faq=FAQ, lectures=4, **fields)


def test_course_page_shows_every_detail(client, app):
    course = _detailed_course()
    page = client.get(f"/courses/{course.slug}").get_data(as_text=True)
    assert f'src="/covers/{"b" * 20}-large.jpg" alt="A bar chart"' in page
    assert f'/covers/{"b" * 20}-small.jpg 640w' in page
    assert "By <a href=\"#instructor\">Grace Müller</a>" in page and "Grace turns spreadsheets into charts." in page
    assert "4 lectures · 20 min in total" in page
    assert "What you'll learn" in page and "<li>Load data</li>" in page and "<li>Chart it</li>" in page
    assert "Requirements" in page and "<li>Python basics</li>" in page
    assert "<summary>How long do I have access?</summary><p>Forever.</p>" in page


def test_a_course_without_details_shows_no_empty_sections(client, paid_course):
    page = client.get(f"/courses/{paid_course.slug}").get_data(as_text=True)
    for heading in ("What you'll learn", "Requirements", "Your instructor", "Frequently asked questions"):
        assert heading not in page
    assert "<img" not in page


def test_anonymous_visitor_watches_the_free_preview_without_a_session(client, app, paid_course):
    preview, locked = paid_course.lectures[0], paid_course.lectures[1]
    page = client.get(f"/courses/{paid_course.slug}").get_data(as_text=True)
    assert f'/courses/{paid_course.slug}/lectures/{preview.id}">Watch free preview' in page
    response = app.test_client().get(f"/courses/{paid_course.slug}/lectures/{preview.id}")  # a link followed cold
    assert response.status_code == 200 and "Content 1" in response.get_data(as_text=True)
    assert "Set-Cookie" not in response.headers  # a visitor's preview needs no session
    # Any other lecture still asks to sign in.
    assert client.get(f"/courses/{paid_course.slug}/lectures/{locked.id}").status_code == 302


def test_breadcrumbs_end_with_the_current_page(client, app):
    course = _detailed_course()
    page = client.get(f"/courses/{course.slug}").get_data(as_text=True)
    assert '<nav class="breadcrumb" aria-label="Breadcrumb">' in page
    trail = page[page.index('aria-label="Breadcrumb"'):page.index("</nav>", page.index('aria-label="Breadcrumb"'))]
    assert trail.index('href="/courses"') < trail.index('href="/courses?topic=data"') < trail.index(
        '<span aria-current="page">Detailed</span>')


def test_lecture_page_breadcrumbs_end_with_the_lecture(client, paid_course):
    preview = paid_course.lectures[0]
    page = client.get(f"/courses/{paid_course.slug}/lectures/{preview.id}").get_data(as_text=True)
    start = page.index('<nav class="breadcrumb" aria-label="Breadcrumb">')
    trail = page[start:page.index("</nav>", start)]
    assert trail.index('href="/courses"') < trail.index(f'href="/courses/{paid_course.slug}">Python 101</a>') < \
        trail.index('<span aria-current="page">Lecture 1</span>')


def test_every_page_starts_with_a_skip_link_to_main(client, paid_course):
    for path in ("/courses", f"/courses/{paid_course.slug}", "/login", "/courses/no-such-course"):
        page = client.get(path).get_data(as_text=True)
        body = page[page.index("<body"):]
        first_link = body[body.index("<a "):body.index("</a>")]
        assert 'class="skip-link" href="#main"' in first_link and "Skip to main content" in body
        assert '<main id="main"' in page


def test_favicon_is_linked_and_served(client, app):
    page = client.get("/courses").get_data(as_text=True)
    assert 'rel="icon" href="/static/favicon.svg" type="image/svg+xml"' in page
    response = client.get("/favicon.ico")
    assert response.status_code == 200 and response.data[:4] == b"\x00\x00\x01\x00"  # an ICO file
    assert response.cache_control.max_age and "Set-Cookie" not in response.headers
    assert client.get("/static/favicon.svg").status_code == 200
