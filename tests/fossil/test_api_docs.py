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
