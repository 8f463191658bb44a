"""Swagger UI and Redoc served offline, with the README's example (issue 14, item 4)."""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import EXAMPLE_REQUEST

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("url", ["/api/docs", "/api/redoc"])
def test_docs_pages_load_only_local_assets(client, url):
    response = client.get(url)
    assert response.status_code == 200
    page = response.content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert assets, page[:500]
    for asset in assets:
        assert not asset.startswith(("http://", "https://", "//")), f"{url} loads {asset} from outside"
    for asset in assets:
        if asset.startswith("/static/"):
            served = client.get(asset)
            assert served.status_code == 200, asset


def test_swagger_bundle_is_served_from_static(client):
    page = client.get("/api/docs").content.decode()
    bundle = re.search(r'src="(/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle\.js)"', page)
    assert bundle, page[:800]
    assert client.get(bundle.group(1)).status_code == 200


def test_schema_carries_the_readme_example(client):
    schema = client.get("/api/schema", HTTP_ACCEPT="application/json")
    body = json.loads(schema.content) if schema["Content-Type"].startswith("application/json") else None
    if body is None:
        import yaml  # noqa: F401  (drf-spectacular renders YAML by default)

        body = yaml.safe_load(schema.content)
    content = body["paths"]["/pricing_data"]["post"]["requestBody"]["content"]["application/json"]
    assert content["examples"]["readme"]["value"] == EXAMPLE_REQUEST


# --- written for the reader (issue 23) ------------------------------------------------------


def schema_json(client) -> dict:
    response = client.get("/api/schema?format=json")
    assert response.status_code == 200
    return json.loads(response.content)


def descriptions(node, where=""):
    """Every description and summary of the schema, with where it is."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("description", "summary") and isinstance(value, str):
                yield f"{where}/{key}", value
            else:
                yield from descriptions(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from descriptions(value, f"{where}/{index}")


def code_docstrings() -> set[str]:
    """The docstrings of the API's base classes: a subclass without one of its own inherits them."""
    import inspect

    from fossil.validation import StrictSerializer
    from offchain.apis import ClientKeyRequired
    from offchain.permissions import ServiceOnly

    return {inspect.getdoc(cls) or "" for cls in (StrictSerializer, ClientKeyRequired, ServiceOnly)} - {""}


def test_client_endpoints_come_first_and_internal_ones_are_grouped_and_labelled(client):
    schema = schema_json(client)
    assert [tag["name"] for tag in schema["tags"]] == ["pricing", "health", "internal"]
    assert schema["tags"][2]["description"].startswith("Internal:")
    operations = [(path, op) for path, item in schema["paths"].items() for op in item.values()]
    tags = [op["tags"] for _, op in operations]
    assert tags == sorted(tags, key=lambda t: ["pricing", "health", "internal"].index(t[0])), tags
    assert [path for path, _ in operations][:2] == ["/pricing_data", "/job_status/{job_id}"]
    for path, op in operations:
        internal = op["tags"] == ["internal"]
        assert internal == path.startswith("/api/job"), path
        assert op["summary"].startswith("Internal:") == internal, (path, op["summary"])


def test_every_operation_says_what_it_does(client):
    for path, item in schema_json(client)["paths"].items():
        for method, op in item.items():
            assert op.get("summary") and len(op.get("description", "")) > 40, (method, path)


def test_no_description_is_a_leaked_docstring(client):
    leaked = code_docstrings()
    python = re.compile(r"``|\b[a-z_]+\.[a-z_]+\.[a-z_]+\b|\bself\b|\bdef \w+|Python")
    for where, text in descriptions(schema_json(client)):
        assert text not in leaked, where
        assert not python.search(text), (where, text)
        assert "* `" not in text, (where, text)  # the enum values are listed already
