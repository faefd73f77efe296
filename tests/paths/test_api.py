"""GET /api/paths and /api/paths/<id or slug>: published paths with their courses in order,
as the OpenAPI description says."""
from tests import factories
from tests.api.test_openapi import conforms


def test_the_api_lists_published_paths_as_documented(client, path, courses):
    factories.learning_path(courses[:2], slug="draft-path", published=False)
    spec = client.get("/api/openapi.json").get_json()
    response = client.get("/api/paths")
    conforms(spec, "GET", "/api/paths", response)
    [item] = response.get_json()["paths"]
    assert (item["slug"], item["sequential"], item["price"]) == ("web-developer", True, None)
    assert [(c["slug"], c["position"], c["isFree"]) for c in item["courses"]] == [
        ("git-first", 1, True), ("python-next", 2, False), ("flask-last", 3, False)]
    for key in (path.id, "web-developer"):
        one = client.get(f"/api/paths/{key}")
        conforms(spec, "GET", f"/api/paths/{key}", one)
        assert one.get_json()["path"]["id"] == path.id
    for missing in ("draft-path", "999999", "99999999999999", "nope"):
        answer = client.get(f"/api/paths/{missing}")
        conforms(spec, "GET", f"/api/paths/{missing}", answer)
        assert answer.status_code == 404 and answer.get_json()["error"]["code"] == "PATH_NOT_FOUND"


def test_a_priced_path_says_its_price(client, courses):
    factories.learning_path(courses, price=9900, currency="USD")
    assert client.get("/api/paths").get_json()["paths"][0]["price"] == {"amount": 9900, "currency": "USD"}
