#!/usr/bin/env bash
# What the console's browser tests (tests/browser, `make browser-test`) need:
#   chromium, chromium-driver  (Debian's packages)   a real browser, driven by Selenium
#   fonts-wqy-microhei         (Debian's package)   Chinese glyphs for the screenshots
#   axe-core                   (npm, pinned in tests/browser/package-lock.json)
#                                                    the accessibility checks run in the page
# Selenium itself comes with the venv (requirements.lock).
#
# Installs only what is missing; apt-get only as root. Not root and the browser missing:
# says so and exits 0 (tests/browser then skips with that reason). npm ci needs only the
# npm registry, and installs exactly the lock file's axe-core (integrity checked).
#
#   bash deploy/install-browser-tools.sh        # from the repository root (.ci/run does)
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v chromedriver >/dev/null || missing+=(chromium-driver)
command -v npm >/dev/null || missing+=(npm)
[ -n "$(fc-list :lang=zh 2>/dev/null)" ] || missing+=(fonts-wqy-microhei)

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "install-browser-tools: missing ${missing[*]}; install as root:" \
         "apt-get install -y --no-install-recommends ${missing[*]} (tests/browser skips without them)" >&2
  else
    echo "install-browser-tools: installing ${missing[*]} with apt-get"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi

if command -v npm >/dev/null; then
  lock=tests/browser/package-lock.json
  installed=tests/browser/node_modules/.package-lock.json
  if [ ! -f "$installed" ] || ! cmp -s <(sed -n '/"node_modules\/axe-core"/,/}/p' "$lock") \
                                       <(sed -n '/"node_modules\/axe-core"/,/}/p' "$installed"); then
    echo "install-browser-tools: npm ci in tests/browser (axe-core from the lock file)"
    (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
  fi
fi

for tool in chromium chromedriver; do
  if command -v "$tool" >/dev/null; then
    echo "install-browser-tools: $tool: $("$tool" --version 2>/dev/null | head -1)"
  else
    echo "install-browser-tools: $tool: absent"
  fi
done
if [ -f tests/browser/node_modules/axe-core/axe.min.js ]; then
  echo "install-browser-tools: axe-core: $(sed -n 's/.*"version": "\(.*\)".*/\1/p' tests/browser/node_modules/axe-core/package.json | head -1)"
else
  echo "install-browser-tools: axe-core: absent"
fi
