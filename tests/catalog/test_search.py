"""The catalog's search and filters on the web: a GET form without JavaScript, an htmx
fragment with it, both from the same view."""
import pytest

from tests import factories


@pytest.fixture
def shelf(app):
    factories.course(title="Python Foundations", price=9900, topic="programming",
                     description="Write real programs.", instructor_name="Ada Byron")
    factories.course(title="Intro to Git", price=0, enrollment_type="FREE", topic="programming")
    factories.course(title="Data with pandas", price=7900, currency="EUR", topic="data",
                     description="Charts from Python.")
    factories.course(title="Members' Lounge", price=1000, enrollment_type="SUBSCRIPTION", topic="business")


def _titles(page: str) -> list[str]:
    return [title for title in ("Python Foundations", "Intro to Git", "Data with pandas", "Members' Lounge")
            if title in page.replace("&#39;", "'")]


def test_search_form_is_a_plain_get_form_with_labels(client, shelf):
    page = client.get("/courses").get_data(as_text=True)
    assert 'role="search" method="get" action="/courses"' in page
    for control in ('for="catalog-q"', 'for="catalog-price"', 'for="catalog-topic"'):
        assert control in page
    assert 'hx-get="/courses"' in page and 'hx-push-url="true"' in page and "delay:300ms" in page
    assert len(_titles(page)) == 4


@pytest.mark.parametrize("query,expected", [
    ("q=python", ["Python Foundations", "Data with pandas"]),  # title or description
    ("q=PYTHON+charts", ["Data with pandas"]),
    ("price=free", ["Intro to Git"]),
    ("price=paid", ["Python Foundations", "Data with pandas"]),
    ("price=membership", ["Members' Lounge"]),
    ("topic=programming", ["Python Foundations", "Intro to Git"]),
    ("topic=programming&price=paid&q=real", ["Python Foundations"]),
    ("topic=unknown&price=whatever", ["Python Foundations", "Intro to Git", "Data with pandas", "Members' Lounge"]),
])
def test_search_and_filters_without_javascript(client, shelf, query, expected):
    response = client.get(f"/courses?{query}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "<h1>Learn something new this week</h1>" in page
    assert _titles(page) == expected


def test_the_form_keeps_what_was_asked(client, shelf):
    page = client.get("/courses?q=git&price=free&topic=programming").get_data(as_text=True)
    assert 'name="q" value="git"' in page
    assert '<option value="free" selected>' in page and '<option value="programming" selected>' in page
    assert "1 course found" in page and "Clear search" in page


def test_no_match_says_so_and_offers_every_course(client, shelf):
    page = client.get("/courses?q=cobol").get_data(as_text=True)
    assert "No courses match your search" in page and "0 courses found" in page


def test_htmx_gets_the_results_fragment_with_the_count_out_of_band(client, shelf):
    response = client.get("/courses?q=git", headers={"HX-Request": "true"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "HX-Request" in response.headers["Vary"]
    assert "<html" not in page and "Learn something new" not in page
    assert _titles(page) == ["Intro to Git"]
    assert 'id="result-count"' in page and 'hx-swap-oob="innerHTML"' in page
    assert "Set-Cookie" not in response.headers


@pytest.mark.parametrize("headers", [{"HX-Request": "true", "HX-Boosted": "true"},
                                     {"HX-Request": "true", "HX-History-Restore-Request": "true"}])
def test_boosted_and_history_restore_requests_get_the_whole_page(client, shelf, headers):
    page = client.get("/courses?q=git", headers=headers).get_data(as_text=True)
    assert "<html" in page and _titles(page) == ["Intro to Git"]


def test_cards_show_topic_instructor_length_and_cover(client, app):
    factories.course(title="Covered", topic="data", instructor_name="Grace", cover_image="a" * 20,
                     cover_alt="A chart", lectures=3)
    page = client.get("/courses").get_data(as_text=True)
    assert "Data" in page and "By Grace" in page and "3 lectures · 15 min" in page
    assert f'src="/covers/{"a" * 20}-small.jpg" alt="A chart"' in page


def test_hostile_search_text_is_harmless(client, shelf):
    for text in ("%25", "_", "'; DROP TABLE courses; --", "<script>alert(1)</script>", "x" * 5000):
        response = client.get("/courses", query_string={"q": text})
        assert response.status_code == 200
        assert "<script>alert(1)</script>" not in response.get_data(as_text=True)
