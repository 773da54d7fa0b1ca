"""rpc.discover: an OpenRPC document built from the models that validate the params.

Generated, never written by hand, so the document cannot drift from what
the daemon accepts.
"""

from __future__ import annotations

from typing import Any

from pydantic.json_schema import models_json_schema

from ...shared import protocol as P
from ...shared.version import package_version
from ..rpc import Call, rpc_method

REF = "#/components/schemas/{model}"


def _params(schema: dict[str, Any], schemas: dict[str, Any]) -> list[dict[str, Any]]:
    """The by-name params of a params model. A union of objects (accounts.create: own or marketing, by
    kind) lists each param once: required where every variant requires it, its schema the variants'
    schemas (anyOf where they differ); the whole union is the params model in components."""
    variants = [schemas[v["$ref"].rsplit("/", 1)[-1]] if "$ref" in v else v for v in schema.get("oneOf", [schema])]
    names: dict[str, list[dict[str, Any]]] = {}
    for variant in variants:
        for key, prop in variant.get("properties", {}).items():
            if prop not in names.setdefault(key, []):
                names[key].append(prop)
    required = set.intersection(*(set(v.get("required", ())) for v in variants)) if variants else set()
    return [{"name": key, "required": key in required, "schema": props[0] if len(props) == 1 else {"anyOf": props}}
            for key, props in names.items()]


def openrpc(methods: dict[str, Any]) -> dict[str, Any]:
    models = {m.params for m in methods.values()} | {m.result for m in methods.values() if m.result}
    refs, top = models_json_schema([(m, "validation") for m in models], ref_template=REF)
    schemas = top.get("$defs", {})
    docs = []
    for name in sorted(methods):
        m = methods[name]
        params_schema = schemas[m.params.__name__]
        doc: dict[str, Any] = {
            "name": name,
            "summary": m.summary,
            "paramStructure": "by-name",
            "params": _params(params_schema, schemas),
            "result": {"name": "result", "schema": {"$ref": REF.format(model=m.result.__name__)} if m.result else {}},
        }
        docs.append(doc)
    return {
        "openrpc": "1.2.6",
        "info": {
            "title": "mailfleetd",
            "version": package_version(),
            "description": "JSON-RPC 2.0 over ZeroMQ (ROUTER). Error codes: "
            + ", ".join(f"{code} {name}" for code, name in sorted(P.ERROR_NAMES.items())),
        },
        "methods": docs,
        "components": {"schemas": schemas},
    }


@rpc_method("rpc.discover")
async def discover(call: Call, params) -> dict:
    """This API as an OpenRPC document."""
    return openrpc(call.methods)
