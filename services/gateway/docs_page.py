"""/docs: the OpenAPI document as one readable, self-contained page (no scripts), and
/docs/try: the same to try, Swagger UI with a token box (Authorize). Nothing comes from a
CDN — the deployments this serves often have no internet: Swagger UI is the package
swagger-ui-bundle (requirements.lock), served from /docs/assets/. A Content-Security-Policy
lets each page load nothing but this gateway's own files (and no script at all on /docs).
"""

from __future__ import annotations

import functools
from html import escape

import swagger_ui_bundle
from werkzeug.wrappers import Response

from shared.errors import NotFound

# Each page's policy: the readable page runs no script; the Swagger UI page runs only the
# gateway's own files and talks only to the gateway (connect-src 'self').
READ_POLICY = ("default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
               "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
TRY_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
              "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
              "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")

STYLE = """
body{font-family:system-ui,"PingFang SC","Microsoft YaHei",sans-serif;margin:2em auto;
max-width:70em;padding:0 1em;color:#222}
h2{border-bottom:2px solid #b22;padding-bottom:.2em;margin-top:2em}
details{border:1px solid #ddd;border-radius:4px;margin:.4em 0;padding:.3em .6em}
summary{cursor:pointer}code{background:#f5f5f5;padding:0 .2em}
.get{color:#06c;font-weight:bold}.post{color:#080;font-weight:bold}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ddd;padding:.2em .5em;
text-align:left;vertical-align:top;font-size:.92em}nav a{margin-right:1em}
.try{font-size:1.1em}.try a{background:#b22;color:#fff;padding:.3em .8em;border-radius:4px;
text-decoration:none}
"""


def render(document: dict) -> str:
    schemas = document.get("components", {}).get("schemas", {})
    by_tag: dict[str, list] = {}
    for path, operations in document["paths"].items():
        for verb, operation in operations.items():
            tag = (operation.get("tags") or ["other"])[0]
            by_tag.setdefault(tag, []).append((path, verb, operation))
    tags = {t["name"]: t.get("description", "") for t in document.get("tags", [])}
    title = document["info"].get("x-title-zh") or document["info"]["title"]
    parts = [f"<!doctype html><html lang=zh><meta charset=utf-8><title>"
             f"{escape(title)}</title><style>{STYLE}</style>",
             f"<h1>{escape(title)} <small>{escape(document['info']['version'])}"
             "</small></h1>",
             f"<p>{escape(document['info'].get('description', ''))}</p>",
             "<p class=try><a href=/docs/try>在线调试 →</a> 填入令牌，直接向本网关发送请求"
             "（Swagger UI）</p>"
             "<p>机器可读的文档：<a href=/openapi.json>/openapi.json</a>（OpenAPI 3.0）。"
             "出错时返回 <code>application/problem+json</code>，含 <code>code</code>、"
             "<code>detail</code>；输入有误（400）时 <code>errors</code> 按字段列出。</p><nav>"]
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
                parts.append("<p>请求体（JSON）：</p>" + _fields(media.get("schema", {}), schemas))
            parts.append("</details>")
    parts.append("</html>")
    return "".join(parts)


def _parameters(parameters: list, schemas: dict) -> str:
    if not parameters:
        return ""
    rows = "".join(
        f"<tr><td><code>{escape(p['name'])}</code></td><td>{escape(p['in'])}</td>"
        f"<td>{_type(p.get('schema', {}))}</td><td>{'是' if p.get('required') else ''}</td>"
        f"<td>{escape(p.get('description', ''))}{_labels(p.get('schema', {}))}</td></tr>"
        for p in parameters)
    return ("<table><tr><th>参数</th><th>位置</th><th>类型</th><th>必填</th>"
            f"<th>说明</th></tr>{rows}</table>")


def _fields(schema: dict, schemas: dict) -> str:
    ref = schema.get("$ref", "")
    target = schemas.get(ref.rsplit("/", 1)[-1], schema)
    required = set(target.get("required", ()))
    rows = "".join(
        f"<tr><td><code>{escape(name)}</code></td><td>{_type(prop)}</td>"
        f"<td>{'是' if name in required else ''}</td>"
        f"<td>{escape(prop.get('description', ''))}{_labels(prop)}</td></tr>"
        for name, prop in target.get("properties", {}).items() if not prop.get("readOnly"))
    return ("<table><tr><th>字段</th><th>类型</th><th>必填</th><th>说明</th></tr>"
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


def page(html, policy: str) -> Response:
    body = html if isinstance(html, bytes) else html.encode()
    return Response(body, content_type="text/html; charset=utf-8", headers={
        "Content-Security-Policy": policy, "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer"})


# /docs/try. Swagger UI's own buttons are in English; the page says in Chinese what they do.
TRY_PAGE = """<!doctype html><html lang=zh><meta charset=utf-8>
<meta name=viewport content="width=device-width, initial-scale=1">
<title>晋位 Jinwei API · 在线调试</title>
<link rel=stylesheet href=/docs/assets/swagger-ui.css>
<link rel=icon type=image/png href=/docs/assets/favicon-32x32.png>
<style>
body{margin:0;font-family:system-ui,"PingFang SC","Microsoft YaHei",sans-serif;color:#222}
header{max-width:1460px;margin:0 auto;padding:1em 20px 0}header h1{margin:.2em 0}
header p{margin:.4em 0;line-height:1.6}header code{background:#f5f5f5;padding:0 .2em}
.warn{color:#b22}
</style>
<header>
<h1>晋位 Jinwei API · 在线调试</h1>
<p>第一步：点右侧的 <b>Authorize</b>（授权），在 <code>bearer</code> 一栏粘贴令牌
（由 <code>make token …</code> 或 <code>jinwei token issue …</code> 签发），点 <b>Authorize</b>，
再点 <b>Close</b>。第二步：展开一个接口，点 <b>Try it out</b>（试用），填写参数，点
<b>Execute</b>（执行），下方即显示本网关的应答。</p>
<p class=warn>请求以该令牌的身份、角色和辖区执行，写操作会真实写入。令牌只保存在本页内存中，
刷新或关闭页面即清除。命令可在 <code>Idempotency-Key</code> 一栏填写请求号，重复提交只执行一次。</p>
<p><a href=/docs>文字版文档</a> · <a href=/openapi.json>/openapi.json</a>（OpenAPI 3.0，
可用于生成客户端）</p>
</header>
<div id=swagger-ui></div>
<noscript><p>本页需要启用 JavaScript；不用脚本的文字版文档见 <a href=/docs>/docs</a>。</p></noscript>
<script src=/docs/assets/swagger-ui-bundle.js></script>
<script src=/docs/assets/try-it.js></script>
</html>
"""

# Swagger UI started on /openapi.json: no top bar (it would load any other document),
# no remote validator badge, the token kept in the page only (persistAuthorization off).
TRY_SCRIPT = """window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    deepLinking: true,
    docExpansion: "none",
    defaultModelsExpandDepth: 0,
    displayOperationId: true,
    displayRequestDuration: true,
    filter: true,
    persistAuthorization: false,
    queryConfigEnabled: false,
    validatorUrl: null
  });
});
"""

# Served from the installed package, nothing else of it (no source maps, no index page).
ASSETS = {
    "swagger-ui.css": "text/css; charset=utf-8",
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "favicon-32x32.png": "image/png",
}


@functools.cache
def _asset(name: str) -> tuple[bytes, str]:
    if name == "try-it.js":
        return TRY_SCRIPT.encode(), "text/javascript; charset=utf-8"
    return (swagger_ui_bundle.swagger_ui_path / name).read_bytes(), ASSETS[name]


def asset(name: str) -> Response:
    if name not in ASSETS and name != "try-it.js":
        raise NotFound(f"no asset {name}")
    body, content_type = _asset(name)
    return Response(body, content_type=content_type, headers={
        "Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"})
