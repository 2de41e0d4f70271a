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


def _request_schemas(doc):
    """Every schema a request takes: the bodies' (with the schemas they refer to) and the parameters'."""
    schemas = doc["components"]["schemas"]
    bodies = set()
    for ops in doc["paths"].values():
        for op in ops.values():
            ref = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
            if "$ref" in ref:
                bodies.add(ref["$ref"].rsplit("/", 1)[1])
    seen, todo = set(), list(bodies)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo += re.findall(r"#/components/schemas/(\w+)", str(schemas[name]))
    for name in seen:
        for field, prop in schemas[name].get("properties", {}).items():
            yield f"{name}.{field}", prop
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            for param in op["parameters"]:
                if param["in"] == "query":
                    yield f"{method.upper()} {path} ?{param['name']}", param["schema"]


def test_the_document_states_the_form_of_every_text_a_request_takes(doc):
    """No text the server refuses for its form goes undocumented: each has a pattern or an enum."""
    from petitions.web.inputs import TEXT_PATTERN

    loose = []
    for where, prop in _request_schemas(doc):
        for variant in (prop, *prop.get("anyOf", ())):
            if variant.get("type") == "string" and not {"pattern", "enum", "const"} & variant.keys():
                loose.append(where)
            if variant.get("pattern") == TEXT_PATTERN:
                assert re.fullmatch(variant["pattern"], "第一行\n第二行\t完")
                assert not re.fullmatch(variant["pattern"], "a\x00b")
    assert loose == []


def test_the_document_states_what_the_server_enforces(doc):
    from petitions.domain.validation import CODE_PATTERN, QUERY_CODE_PATTERN
    from petitions.measures.stats import PERIOD_PATTERN
    from petitions.web.inputs import FILLED_TEXT_PATTERN

    schemas = doc["components"]["schemas"]
    filing = schemas["FilingIn"]["properties"]
    for name in ("title", "content"):
        assert filing[name]["minLength"] == 1 and filing[name]["pattern"] == FILLED_TEXT_PATTERN
    assert filing["title"]["maxLength"] == 100 and filing["content"]["maxLength"] == 5000
    assert filing["category"]["pattern"] == filing["township"]["pattern"] == CODE_PATTERN
    params = {
        (path, p["name"]): p["schema"]
        for path, ops in doc["paths"].items()
        for op in ops.values()
        for p in op["parameters"]
    }
    assert params[("/api/v1/stats/units", "period")]["pattern"] == PERIOD_PATTERN
    assert params[("/api/v1/queue", "unit")]["anyOf"][0]["pattern"] == CODE_PATTERN
    assert params[("/api/v1/petitions/{tracking_no}", "code")]["anyOf"][0]["pattern"] == QUERY_CODE_PATTERN
    assert schemas["RatingIn"]["properties"]["score"]["enum"] == ["satisfied", "basically_satisfied", "unsatisfied"]


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/api/v1/stats/units", {"period": "0000000000000000"}, "period"),
        ("/api/v1/stats/units", {"period": "２０２６"}, "period"),
        ("/api/v1/stats/units", {"period": "2026\n"}, "period"),
        ("/api/v1/queue", {"unit": "jtj\x1f"}, "unit"),
        ("/api/v1/queue", {"unit": "a b"}, "unit"),
        ("/api/v1/queue", {"q": "路\x00灯"}, "q"),
    ],
)
def test_what_the_document_calls_invalid_the_server_refuses(client, staff_token, path, params, field):
    headers = {"Authorization": f"Bearer {staff_token('intake')}"}
    res = client.get(path, query_string=params, headers=headers)
    assert res.status_code == 422 and field in res.get_json()["error"]["fields"]


@pytest.mark.parametrize("title", ["", "   ", "\u3000", "标题\x1b"])
def test_blank_or_control_titles_are_refused_by_the_model_as_the_document_says(client, db, title):
    from tests.test_api_public import filing as body

    res = client.post("/api/v1/petitions", json=body(title=title))
    assert res.status_code == 422 and "title" in res.get_json()["error"]["fields"]
