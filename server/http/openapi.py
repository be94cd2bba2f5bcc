"""The OpenAPI 3.1 document, built from the same route table the app serves."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from server.http.api import API_ROUTES, ApiRoute
from server.http.middleware import SAFE_METHODS

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "fields"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "fields": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        }
    },
}


def build_document() -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for route in API_ROUTES:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route)
    paths["/healthz"] = {
        "get": {
            "summary": "Up, with the database reachable",
            "responses": {
                "200": {"description": "healthy"},
                "503": {"description": "database unreachable"},
            },
        }
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "Podium API", "version": "1"},
        "components": {
            "schemas": {"Error": ERROR_SCHEMA},
            "securitySchemes": {
                "staffSession": {"type": "apiKey", "in": "cookie", "name": "podium_session"},
                "viewerToken": {"type": "http", "scheme": "bearer"},
            },
        },
        "paths": paths,
    }


def _operation(route: ApiRoute) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": route.summary,
        "x-roles": sorted(route.roles),
        "parameters": [
            {
                "name": name,
                "in": "path",
                "required": True,
                "schema": {"type": "string" if name == "slug" else "integer"},
            }
            for name in re.findall(r"{(\w+)}", route.path)
        ],
        "responses": {
            "200": {"description": "success"},
            "4XX": {
                "description": "error",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            },
        },
    }
    if route.query is not None:
        for name, prop in route.query.model_json_schema()["properties"].items():
            operation["parameters"].append({"name": name, "in": "query", "schema": prop})
    if route.body is not None:
        schema = route.body.model_json_schema()
        path_ids = set(re.findall(r"{(\w+)}", route.path))
        schema["properties"] = {
            k: v for k, v in schema.get("properties", {}).items() if k not in path_ids
        }
        schema["required"] = [k for k in schema.get("required", []) if k not in path_ids]
        operation["requestBody"] = {"content": {"application/json": {"schema": schema}}}
    if route.method not in SAFE_METHODS and "viewer" not in route.roles:
        operation["description"] = "Staff callers send the X-CSRF-Token header."
    return operation


async def openapi_handler(_request: web.Request) -> web.Response:
    return web.json_response(build_document())
