"""The public catalog and the error pages."""
from tests import factories


def test_catalog_lists_only_published_courses_with_formatted_prices(client):
    factories.course(title="Python 101", price=9900, currency="USD")
    factories.course(title="Pandas", price=1999, currency="EUR")
    factories.course(title="Japanese", price=12000, currency="JPY")
    factories.course(title="Git", price=0, enrollment_type="FREE")
    factories.course(title="Secret Draft", published=False)
    page = client.get("/courses").get_data(as_text=True)
    for text in ("Python 101", "$99.00", "€19.99", "¥12,000", "Free"):
        assert text in page
    assert "Secret Draft" not in page


def test_course_page_shows_outline_and_preview_links(client, paid_course):
    page = client.get(f"/courses/{paid_course.slug}").get_data(as_text=True)
    assert "Lecture 1" in page and "Lecture 3" in page and "$99.00" in page
    preview = paid_course.lectures[0]
    assert f'href="/courses/{paid_course.slug}/lectures/{preview.id}">Watch free preview' in page
    assert page.count("Watch free preview") == 1  # only lecture 1 is a preview


def test_unpublished_course_is_a_404(client):
    draft = factories.course(published=False)
    assert client.get(f"/courses/{draft.slug}").status_code == 404


def test_unknown_slug_renders_the_404_page_in_the_layout(client):
    response = client.get("/courses/no-such-course")
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert "Learnpay" in page and "We could not find that course." in page


def test_unknown_api_path_is_json_404(client):
    response = client.get("/api/nothing-here")
    assert response.status_code == 404
    assert response.json["success"] is False
    assert response.json["error"]["code"] == "NOT_FOUND"


def test_405_renders_as_a_page_and_as_json_under_api(client):
    assert client.delete("/courses").status_code == 405
    assert "not allowed" in client.delete("/courses").get_data(as_text=True)


def test_500_renders_in_the_layout_and_rolls_back(app, client):
    @app.route("/boom")
    def boom():
        raise RuntimeError("kaboom")

    @app.route("/api/boom")
    def api_boom():
        raise RuntimeError("kaboom")

    response = client.get("/boom")
    assert response.status_code == 500 and "Something went wrong" in response.get_data(as_text=True)
    assert "kaboom" not in response.get_data(as_text=True)
    api = client.get("/api/boom")
    assert api.status_code == 500 and api.json["error"]["code"] == "INTERNAL_ERROR"


def test_test_mode_banner_shows_with_the_sandbox(client):
    assert "Test mode" in client.get("/courses").get_data(as_text=True)


def test_nul_bytes_in_urls_and_forms_are_a_400_not_a_500(client):
    assert client.get("/courses/a%00b").status_code == 400
    assert client.get("/courses?q=a%00b").status_code == 400
    assert client.get("/api/payments/coupons/active?x=%00").status_code == 400
    assert client.get("/api/payments/coupons/active?x=%00").json["error"]["code"] == "BAD_REQUEST"
