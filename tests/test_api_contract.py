"""The OpenAPI document describes every public and staff endpoint of shared/api.md, each with
request and response schemas generated from the validating models."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from tests.conftest import unavailable

API_MD = Path(__file__).resolve().parent.parent.parent / "shared" / "api.md"
ROW = re.compile(r"^\|\s*`(GET|POST|PUT|PATCH|DELETE) (/[^`?\s]*)(?:\?[^`]*)?`\s*\|")


def contract_endpoints() -> list[tuple[str, str]]:
    """(method, path) of every row of the Public and Staff tables of api.md."""
    if not API_MD.exists():
        unavailable(f"{API_MD} is not here (the shared documents are laid beside the clone)")
    found, section = [], None
    for line in API_MD.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            section = line[3:].strip()
            continue
        match = ROW.match(line)
        if match and section in ("Public", "Staff"):
            found.append((match.group(1).lower(), match.group(2)))
    return found


def test_the_contract_tables_are_read():
    endpoints = contract_endpoints()
    assert ("post", "/api/v1/tokens") in endpoints
    assert ("get", "/api/v1/stats/units") in endpoints
    assert ("post", "/api/v1/petitions/{tracking_no}/actions/{action}") in endpoints
    assert len(endpoints) >= 11


def test_every_contract_endpoint_is_in_the_document_with_schemas(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    schemas = doc["components"]["schemas"]
    missing = [(m, p) for m, p in contract_endpoints() if m not in doc["paths"].get(p, {})]
    assert not missing, f"api.md endpoints not in /api/v1/openapi.json: {missing}"
    for method, path in contract_endpoints():
        op = doc["paths"][path][method]
        ok = [s for s in op["responses"] if s.startswith("2")]
        assert ok, (method, path)
        for status in ok:
            schema = op["responses"][status]["content"]["application/json"]["schema"]
            refs = [schema, *schema.get("anyOf", [])]
            assert all(r["$ref"].rsplit("/", 1)[1] in schemas for r in refs if "$ref" in r), (path, status)
        if method == "post":
            body = op["requestBody"]["content"]["application/json"]["schema"]
            name = body["$ref"].rsplit("/", 1)[1]
            assert schemas[name]["type"] == "object" and schemas[name]["properties"], (path, name)
        # Every path parameter of the contract is declared.
        declared = {p["name"] for p in op["parameters"] if p["in"] == "path"}
        assert declared == set(re.findall(r"\{(\w+)\}", path)), path


def test_staff_endpoints_require_the_bearer_token(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["paths"]["/api/v1/queue"]["get"]["security"] == [{"bearer": []}]
    assert doc["paths"]["/api/v1/petitions/{tracking_no}/actions/{action}"]["post"]["security"] == [
        {"bearer": []}
    ]
    # Filing and the look-up serve both: a token is optional.
    assert {} in doc["paths"]["/api/v1/petitions"]["post"]["security"]
    assert {} in doc["paths"]["/api/v1/petitions/{tracking_no}"]["get"]["security"]


def test_query_parameters_of_the_contract_are_documented(client):
    doc = client.get("/api/v1/openapi.json").get_json()

    def params(path, method="get"):
        return {p["name"] for p in doc["paths"][path][method]["parameters"] if p["in"] == "query"}

    assert {"status", "level", "unit", "q", "page", "per_page"} <= params("/api/v1/queue")
    assert "period" in params("/api/v1/stats/units")
    assert "code" in params("/api/v1/petitions/{tracking_no}")


def test_a_missing_contract_skips_outside_ci_and_fails_in_ci(monkeypatch, tmp_path):
    import tests.conftest as conftest

    monkeypatch.setattr(sys.modules[__name__], "API_MD", tmp_path / "api.md")
    monkeypatch.setattr(conftest, "IN_CI", False)
    with pytest.raises(pytest.skip.Exception, match="api.md is not here"):
        contract_endpoints()
    monkeypatch.setattr(conftest, "IN_CI", True)
    with pytest.raises(pytest.fail.Exception, match="required in CI: .*api.md is not here"):
        contract_endpoints()
