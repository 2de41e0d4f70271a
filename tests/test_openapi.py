"""GET /api/v1/openapi.json: a valid OpenAPI 3.1 document, generated from the same models that
validate the requests, covering every operation served, and matching the real answers."""

from __future__ import annotations

import re

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from openapi_spec_validator import validate

from petitions.web.api.schemas import FilingIn
from petitions.web.api.spec import REF_TEMPLATE
from tests.test_api_public import filing


@pytest.fixture()
def doc(client):
    res = client.get("/api/v1/openapi.json")
    assert res.status_code == 200 and res.mimetype == "application/json"
    return res.get_json()


def conforms(doc: dict, ref: dict, instance) -> list[str]:
    """Errors of `instance` against a schema of the document (its refs resolved in the document)."""
    schema = {**ref, "components": doc["components"]}
    validator = Draft202012Validator(schema, format_checker=FormatChecker())
    return [e.message for e in validator.iter_errors(instance)]


def response_schema(doc, path, method, status):
    return doc["paths"][path][method]["responses"][str(status)]["content"]["application/json"]["schema"]


def test_the_document_is_valid_openapi(doc):
    assert doc["openapi"].startswith("3.1")
    validate(doc)


def test_every_api_route_is_documented_with_schemas(app, doc):
    served = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.rule == "/api/v1/openapi.json":
            continue
        if not hasattr(app.view_functions[rule.endpoint], "api_operation"):
            continue  # declared without petitions.web.api.spec (not this document's concern)
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            served.add((path, method.lower()))
    assert {
        ("/api/v1/categories", "get"),
        ("/api/v1/units", "get"),
        ("/api/v1/petitions", "post"),
        ("/api/v1/petitions/{tracking_no}", "get"),
        ("/api/v1/tokens", "post"),
    } <= served
    documented = {(path, method) for path, ops in doc["paths"].items() for method in ops}
    assert served == documented
    schemas = doc["components"]["schemas"]
    for path, method in documented:
        op = doc["paths"][path][method]
        ok = [s for s in op["responses"] if s.startswith("2")]
        assert ok, (path, method)
        for status, answer in op["responses"].items():
            schema = answer["content"]["application/json"]["schema"]
            for ref in [schema, *schema.get("anyOf", [])]:
                if "$ref" in ref:
                    assert ref["$ref"].removeprefix("#/components/schemas/") in schemas, (path, status)
        if method == "post":
            body = op["requestBody"]["content"]["application/json"]["schema"]
            assert body["$ref"].removeprefix("#/components/schemas/") in schemas
            assert {"400", "413", "415", "422"} <= set(op["responses"])
        for param in op["parameters"]:
            if param["in"] == "path":
                assert "{" + param["name"] + "}" in path


def test_request_schema_is_the_validating_model(doc):
    """One definition: the document's schema of the filing body is the model's own."""
    ours = FilingIn.model_json_schema(ref_template=REF_TEMPLATE)
    ours.pop("$defs", None)
    assert doc["components"]["schemas"]["FilingIn"] == ours
    assert set(ours["required"]) == {"title", "content", "category", "township"}
    op = doc["paths"]["/api/v1/petitions"]["post"]
    assert op["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/FilingIn"
    }
    assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in op["parameters"])
    assert "429" in op["responses"] and "Retry-After" in op["responses"]["429"]["headers"]
    lookup = doc["paths"]["/api/v1/petitions/{tracking_no}"]["get"]
    assert {(p["name"], p["in"]) for p in lookup["parameters"]} == {
        ("tracking_no", "path"),
        ("code", "query"),
    }
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


def test_real_answers_match_the_document(client, doc):
    for path in ("/api/v1/categories", "/api/v1/units"):
        res = client.get(path)
        assert conforms(doc, response_schema(doc, path, "get", 200), res.get_json()) == []

    filed = client.post("/api/v1/petitions", json=filing())
    assert filed.status_code == 201
    assert conforms(doc, response_schema(doc, "/api/v1/petitions", "post", 201), filed.get_json()) == []

    number, code = filed.get_json()["tracking_no"], filed.get_json()["query_code"]
    view = client.get(f"/api/v1/petitions/{number}?code={code}")
    path = "/api/v1/petitions/{tracking_no}"
    assert conforms(doc, response_schema(doc, path, "get", 200), view.get_json()) == []

    token = client.post("/api/v1/tokens", json={"username": "admin", "password": "petition-demo"})
    assert conforms(doc, response_schema(doc, "/api/v1/tokens", "post", 201), token.get_json()) == []

    # Errors have the documented shape too.
    for res, path, method, status in (
        (client.post("/api/v1/petitions", json={}), "/api/v1/petitions", "post", 422),
        (
            client.post("/api/v1/petitions", data="{", content_type="application/json"),
            "/api/v1/petitions",
            "post",
            400,
        ),
        (
            client.post("/api/v1/petitions", data="x", content_type="text/plain"),
            "/api/v1/petitions",
            "post",
            415,
        ),
        (client.get(f"/api/v1/petitions/{number}?code=1"), "/api/v1/petitions/{tracking_no}", "get", 404),
        (
            client.post("/api/v1/tokens", json={"username": "a", "password": "b"}),
            "/api/v1/tokens",
            "post",
            401,
        ),
    ):
        assert res.status_code == status
        assert conforms(doc, response_schema(doc, path, method, status), res.get_json()) == []


def test_a_document_schema_rejects_what_the_model_rejects(doc):
    """The document and the validation agree on shape (types, required fields, enums)."""
    ref = {"$ref": "#/components/schemas/FilingIn"}
    assert conforms(doc, ref, filing()) == []
    assert conforms(doc, ref, filing(title=5))
    assert conforms(doc, ref, filing(channel="fax"))
    assert conforms(doc, ref, {k: v for k, v in filing().items() if k != "township"})
