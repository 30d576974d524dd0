"""The OpenAPI 3.1 document of the service (served at ``/openapi.json``).

The options part is derived from the option table of ``segengine.options`` (names in both
spellings, choices, integer ranges, defaults, help sentences), so the document follows the library
when an option is added.
The schema describes what is well-formed; the engine's own checks (at least 3 records, a usable
numeric field, ``k_min <= k_max``, duplicate ids) are 422s the schema cannot express.
"""

from __future__ import annotations

from typing import Any

from segengine._version import __version__
from segengine.options import OPTIONS, Option, camel_case
from segengine.service.config import ROUTE

__all__ = ["openapi_document"]

_SCALAR = {"type": ["string", "number", "integer", "boolean", "null"]}


def _option_schema(option: Option) -> dict[str, Any]:
    """The JSON schema of one row of the option table."""
    if option.kind == "choice":
        schema: dict[str, Any] = {"type": "string", "enum": list(option.choices)}
    elif option.kind == "int":
        schema = {"type": "integer", "minimum": option.low}
        if option.high is not None:
            schema["maximum"] = option.high
    elif option.kind == "names":
        schema = {"type": "array", "items": {"type": "string"}}
    elif option.kind == "string":
        schema = {"type": "string", "minLength": 1}
    elif option.kind == "roles":  # null means no roles given
        schema = {"anyOf": [{"type": "object", "additionalProperties": {"type": "string"}}, {"type": "null"}]}
    else:  # an option kind this document does not know the shape of yet: any value
        schema = {}
    if option.auto:
        schema = {"anyOf": [schema, {"type": "string", "enum": ["auto"]}, {"type": "null"}]}
    elif option.nullable:
        schema = {"anyOf": [schema, {"type": "null"}]}
    return schema


def _option_schemas() -> dict[str, Any]:
    from segengine.text.catalog import text

    out: dict[str, Any] = {}
    for option in OPTIONS:
        name = option.name
        schema = _option_schema(option)
        schema["default"] = list(option.default) if isinstance(option.default, tuple) else option.default
        schema["description"] = f"{text('en', option.help_key)} Also spelled `{camel_case(name)}`."
        out[name] = schema
        if camel_case(name) != name:
            out[camel_case(name)] = dict(schema, description=f"camelCase spelling of `{name}`.")
    return out


def _error_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["error", "message"],
        "properties": {
            "error": {"type": "string", "description": "Stable English category."},
            "message": {"type": "string", "description": "Sentence in the language of Accept-Language."},
            "details": {
                "type": "object",
                "additionalProperties": {"type": "string"},
                "description": ("Path of each offending input (data.3.value, options.k_max, headers.X-Secret)"
                                " -> sentence."),
            },
            "expected_format": {"type": "string"},
            "retry_after": {"type": "integer", "minimum": 0, "description": "Seconds to wait before retrying."},
        },
    }


def _report_schema() -> dict[str, Any]:
    result = {
        "type": "object",
        "required": ["id", "segment", "segment_name", "prediction", "confidence"],
        "properties": {
            "id": {"type": "string"},
            "segment": {"type": "integer", "minimum": 0},
            "segment_name": {"type": "string"},
            "prediction": {"type": "number", "minimum": 0, "maximum": 1},
            "confidence": {"type": "number", "minimum": 0, "maximum": 1},
        },
    }
    segment = {
        "type": "object",
        "required": ["segment", "name", "size", "share", "profile", "characteristics", "insights"],
        "properties": {
            "segment": {"type": "integer", "minimum": 0},
            "name": {"type": "string"},
            "size": {"type": "integer", "minimum": 1},
            "share": {"type": "number", "minimum": 0, "maximum": 1},
            "silhouette": {"type": ["number", "null"]},
            "profile": {"type": "object"},
            "characteristics": {"type": "array", "items": {"type": "object"}},
            "insights": {"type": "array", "items": {"type": "object"}},
        },
    }
    return {
        "type": "object",
        "required": ["results", "segments", "summary"],
        "properties": {
            "results": {"type": "array", "items": result},
            "segments": {"type": "array", "items": segment},
            "summary": {
                "type": "object",
                "required": ["n_records", "n_segments", "algorithm"],
                "properties": {
                    "n_records": {"type": "integer", "minimum": 1},
                    "n_segments": {"type": "integer", "minimum": 1},
                    "algorithm": {"type": "string"},
                },
            },
            "metadata": {
                "type": "object",
                "required": ["model_version", "processing_time_ms"],
                "properties": {
                    "model_version": {"type": "string"},
                    "processing_time_ms": {"type": "integer", "minimum": 0},
                },
            },
        },
    }


def _request_schema() -> dict[str, Any]:
    record = {
        "type": "object",
        "description": ("One customer: an id (option id_field) and feature fields (numbers, booleans, strings, "
                        "ISO-8601 dates, null)."),
        "additionalProperties": _SCALAR,
    }
    include = {"type": ["boolean", "null"], "default": False, "description": "Add `metadata` to the response."}
    return {
        "type": "object",
        "required": ["data"],
        "additionalProperties": False,
        "properties": {
            "data": {"type": "array", "minItems": 1, "items": record},
            "options": {
                "type": ["object", "null"],
                "additionalProperties": False,
                "properties": _option_schemas(),
                "default": {},
            },
            "include_metadata": include,
            "includeMetadata": dict(include, description="camelCase spelling of `include_metadata`."),
        },
    }


def _response(description: str, schema_ref: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "description": description,
        "headers": {"X-Request-ID": {"$ref": "#/components/headers/RequestId"}, **(headers or {})},
        "content": {"application/json": {"schema": {"$ref": schema_ref}}},
    }
    return out


def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 description of the segmentation-report endpoint and the probes.

    Returns
    -------
    dict
    """
    error = "#/components/schemas/Error"
    retry = {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer", "minimum": 1}}}
    header = {"type": "string"}
    probe = {
        "type": "object",
        "required": ["status"],
        "properties": {"status": {"type": "string"}},
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "segengine customer segmentation report",
            "version": __version__,
            "description": "The segmentation-report endpoint: segments found automatically, profiles, "
            "characteristics and insights in en/es/pt. Bodies accept snake_case and camelCase.",
        },
        "paths": {
            ROUTE: {
                "post": {
                    "operationId": "segmentationReport",
                    "summary": "Segment customers and return the report.",
                    "security": [{"bearer": []}],
                    "parameters": [
                        {"name": "X-Customer-Api-Id", "in": "header", "required": False,
                         "description": "Tenant UUID (v4); required unless the server has a default tenant.",
                         "schema": {"type": "string", "format": "uuid"}},
                        {"name": "X-Secret", "in": "header", "required": False,
                         "description": "The key's 64-character secret; required with X-Customer-Api-Id.",
                         "schema": {"type": "string", "minLength": 64, "maxLength": 64}},
                        {"name": "Accept-Language", "in": "header", "required": False,
                         "description": "en, es or pt (e.g. `pt-BR,pt;q=0.9`); anything else gives English.",
                         "schema": header},
                        {"name": "X-Request-ID", "in": "header", "required": False,
                         "description": "Echoed in the response and the log when it is 1-128 characters of "
                         "[A-Za-z0-9._:-]; any other value is replaced by a new id (never refused).",
                         "schema": header},
                    ],
                    "requestBody": {
                        "required": True,
                        "description": ("JSON, up to 20 MB as sent and after decoding; "
                                        "`Content-Encoding: gzip` accepted."),
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ReportRequest"}}},
                    },
                    "responses": {
                        "200": _response("The report.", "#/components/schemas/Report"),
                        "400": _response("Invalid format (not JSON, not an object, a record not an object, "
                                         "corrupt gzip) or invalid parameters (empty data).", error),
                        "401": _response("Missing or unknown bearer token.", error, {
                            "WWW-Authenticate": {"description": "Bearer", "schema": header}}),
                        "403": _response("Tenant id or secret missing or not matching the token.", error),
                        "413": _response("Body over the size limit, as sent or after gzip decoding.", error),
                        "415": _response("A Content-Encoding other than gzip, or a body that is not JSON.", error),
                        "422": _response("Validation failed: details name every offending input path.", error),
                        "429": _response("The tenant is over its rate limit or its share of the workers.",
                                         error, retry),
                        "500": _response("Service error (internal fault or time limit); retry_after in the body.",
                                         error, retry),
                        "503": _response("The server is saturated (every worker and queue place taken) or "
                                         "shutting down.", error, retry),
                    },
                }
            },
            "/healthz": {
                "get": {
                    "operationId": "healthz",
                    "summary": "Liveness: the process answers.",
                    "security": [],
                    "responses": {"200": {"description": "Alive.", "content": {"application/json": {"schema": probe}}}},
                }
            },
            "/readyz": {
                "get": {
                    "operationId": "readyz",
                    "summary": "Readiness: kernels loaded and not shutting down.",
                    "security": [],
                    "responses": {
                        "200": {"description": "Ready.", "content": {"application/json": {"schema": probe}}},
                        "503": {"description": "Warming up or draining.",
                                "content": {"application/json": {"schema": probe}}},
                    },
                }
            },
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "headers": {"RequestId": {"description": "The request id (from X-Request-ID or new).", "schema": header}},
            "schemas": {
                "ReportRequest": _request_schema(),
                "Report": _report_schema(),
                "Error": _error_schema(),
            },
        },
    }
