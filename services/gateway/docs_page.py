"""/docs: the OpenAPI document as one readable, self-contained page (no scripts, no CDN:
the deployments this serves often have no internet)."""

from __future__ import annotations

from html import escape

STYLE = """
body{font-family:system-ui,"PingFang SC","Microsoft YaHei",sans-serif;margin:2em auto;
max-width:70em;padding:0 1em;color:#222}
h2{border-bottom:2px solid #b22;padding-bottom:.2em;margin-top:2em}
details{border:1px solid #ddd;border-radius:4px;margin:.4em 0;padding:.3em .6em}
summary{cursor:pointer}code{background:#f5f5f5;padding:0 .2em}
.get{color:#06c;font-weight:bold}.post{color:#080;font-weight:bold}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ddd;padding:.2em .5em;
text-align:left;vertical-align:top;font-size:.92em}nav a{margin-right:1em}
"""


def render(document: dict) -> str:
    schemas = document.get("components", {}).get("schemas", {})
    by_tag: dict[str, list] = {}
    for path, operations in document["paths"].items():
        for verb, operation in operations.items():
            tag = (operation.get("tags") or ["other"])[0]
            by_tag.setdefault(tag, []).append((path, verb, operation))
    tags = {t["name"]: t.get("description", "") for t in document.get("tags", [])}
    parts = [f"<!doctype html><html lang=zh><meta charset=utf-8><title>"
             f"{escape(document['info']['title'])}</title><style>{STYLE}</style>",
             f"<h1>{escape(document['info']['title'])} <small>{escape(document['info']['version'])}"
             "</small></h1>",
             f"<p>{escape(document['info'].get('description', ''))}</p>",
             "<p>Machine-readable: <a href=/openapi.json>/openapi.json</a>. Errors are "
             "<code>application/problem+json</code> with <code>code</code>, "
             "<code>detail</code> and, for 400, <code>errors</code> per field.</p><nav>"]
    parts += [f"<a href=#{escape(tag)}>{escape(tags.get(tag, tag))}</a>" for tag in by_tag]
    parts.append("</nav>")
    for tag, operations in by_tag.items():
        parts.append(f"<h2 id={escape(tag)}>{escape(tags.get(tag, tag))}</h2>")
        for path, verb, operation in operations:
            parts.append(
                f"<details><summary><span class={verb}>{verb.upper()}</span> "
                f"<code>{escape(path)}</code> — {escape(operation.get('summary', ''))}</summary>"
                f"<p>{escape(operation.get('description', '')).replace(chr(10), '<br>')}</p>")
            parts.append(_parameters(operation.get("parameters", []), schemas))
            body = operation.get("requestBody", {}).get("content", {})
            for media in body.values():
                parts.append("<p>Body (JSON):</p>" + _fields(media.get("schema", {}), schemas))
            parts.append("</details>")
    parts.append("</html>")
    return "".join(parts)


def _parameters(parameters: list, schemas: dict) -> str:
    if not parameters:
        return ""
    rows = "".join(
        f"<tr><td><code>{escape(p['name'])}</code></td><td>{escape(p['in'])}</td>"
        f"<td>{_type(p.get('schema', {}))}</td><td>{'yes' if p.get('required') else ''}</td>"
        f"<td>{escape(p.get('description', ''))}{_labels(p.get('schema', {}))}</td></tr>"
        for p in parameters)
    return ("<table><tr><th>parameter</th><th>in</th><th>type</th><th>required</th>"
            f"<th>description</th></tr>{rows}</table>")


def _fields(schema: dict, schemas: dict) -> str:
    ref = schema.get("$ref", "")
    target = schemas.get(ref.rsplit("/", 1)[-1], schema)
    required = set(target.get("required", ()))
    rows = "".join(
        f"<tr><td><code>{escape(name)}</code></td><td>{_type(prop)}</td>"
        f"<td>{'yes' if name in required else ''}</td>"
        f"<td>{escape(prop.get('description', ''))}{_labels(prop)}</td></tr>"
        for name, prop in target.get("properties", {}).items() if not prop.get("readOnly"))
    return ("<table><tr><th>field</th><th>type</th><th>required</th><th>description</th></tr>"
            f"{rows}</table>")


def _type(schema: dict) -> str:
    if "$ref" in schema:
        return escape(schema["$ref"].rsplit("/", 1)[-1])
    if "anyOf" in schema and "type" not in schema:  # a decimal: text or a number
        return " or ".join(_type(branch) for branch in schema["anyOf"])
    kind = schema.get("type", "any")
    if kind == "array":
        return f"list of {_type(schema.get('items', {}))}"
    return escape(kind + (f" ({schema['format']})" if schema.get("format") else ""))


def _labels(schema: dict) -> str:
    labels = schema.get("x-labels") or schema.get("items", {}).get("x-labels")
    if not labels:
        return ""
    return "<br>" + escape(", ".join(f"{code} {label}" for code, label in labels.items()))
