"""The staff console (工作台): pages for people, in Chinese, served by the gateway under
/console/ (issue 19): signing in and out, the dashboard, organizations, grading, the
ledger, imports and exports, coverage, reserves, venues and accounts (docs/gateway.md
lists the pages and what each asks).

Why this stack — server-rendered pages, plain werkzeug routes and Jinja2 templates
(pinned in requirements.lock), no JavaScript at all:
- The console must be an ordinary client of the same RPC API and rules, never a second
  copy of them. A page here calls the services over RPC with the staff member's own
  token, exactly as a /v1 request does: jurisdiction, roles and validation are the
  services' checks, and their errors are shown next to the field they name.
- Nothing to build: no npm, no bundler, no lock file of a second ecosystem to audit and
  keep offline; the pages work with no internet (every asset is served from this
  package: static/) and at phone width with nothing but HTML and CSS.
- No script means the strictest Content-Security-Policy (no script-src at all), and
  the session cookie can be HttpOnly with nothing on the page that needs the token.
  A chart is SVG drawn by the template; an import's progress page refreshes itself.
  Should a page later need real interactivity, a small library served from static/
  under `script-src 'self'` is the step, not a framework.
- werkzeug is what the gateway already is; Jinja2 escapes everything by default
  (autoescape) and is maintained by the same project.

The session is the signed token accounts.sign_in returns (system "console"), kept in an
HttpOnly, SameSite=Strict cookie; every console request verifies it (TokenVerifier) and
asks accounts.session_valid (a "yes" believed for security.SESSION_CHECK_S seconds).
The /v1 API never reads that cookie: it takes only the Authorization header, so no
cross-site form can reach it with a browser's credentials.

Settings (environment):
- JINWEI_CONSOLE_SECURE_COOKIES=true: the cookies are Secure even when the request looks
  like plain HTTP (a proxy that ends TLS without X-Forwarded-Proto); over HTTPS they are
  Secure anyway.
- JINWEI_CONSOLE_SIGN_IN_PLACE (default 330000000000, the province): the place of the
  gateway's own token for accounts.sign_in and accounts.session_valid — the subtree whose
  accounts may sign in here.
"""

from services.gateway.console.pages import Console, owns

__all__ = ["Console", "owns"]
