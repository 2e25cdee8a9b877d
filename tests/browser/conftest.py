"""The console in a real browser: `make run` on private ports (its own RabbitMQ node and
PostgreSQL cluster, as tests/e2e/test_newcomer.py starts them), the sample places and a
county account administrator made by `make places` and `make admin`, and Debian's
Chromium driven by Selenium through chromedriver. Screenshots of every page go to
tests/browser/artifacts/ (kept by CI as artifacts; the folder is ignored by git);
axe-core (tests/browser/package-lock.json) checks each page in the browser.

Run with `make browser-test` (after `bash deploy/install-browser-tools.sh`); `make test`
does not collect this folder (pyproject's norecursedirs)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from shared.platform import config
from tests.support import free_ports, port_answers

REPO = config.REPO_ROOT
HERE = Path(__file__).resolve().parent
ARTIFACTS = HERE / "artifacts"
AXE = HERE / "node_modules" / "axe-core" / "axe.min.js"
RUN_TIMEOUT = 300
STOP_TIMEOUT = 150
COUNTY = "331123000000"  # 遂昌县, in the shipped sample of places
ADMIN, ADMIN_PASSWORD = "suichang-admin", "Suichang-console-2026"
CONFIG_VARS = re.compile(
    r"^(AMQP_URI|POSTGRES_ADMIN_URL|JINWEI_\w+|\w+_DATABASE_URL|\w+_HTTP_PORT"
    r"|MAKEFLAGS|MAKELEVEL|MFLAGS)$")


def _missing() -> str | None:
    for tool in ("chromium", "chromedriver"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (bash deploy/install-browser-tools.sh)"
    if not AXE.exists():
        return "axe-core is not installed (bash deploy/install-browser-tools.sh)"
    return None


def make(target: str, env: dict, log: Path, timeout: float, *args: str) -> str:
    with open(log, "w") as out:
        result = subprocess.run(["make", "--no-print-directory", "-C", str(REPO), target,
                                 *args], env=env, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, timeout=timeout)
    text = log.read_text()
    assert result.returncode == 0, f"make {target} failed:\n{text[-4000:]}"
    return text


class System:
    """What `make run` started: the gateway's address, the settings a test seeds with."""

    def __init__(self, env: dict, logs: Path):
        self.env, self.logs = env, logs
        self.url = f"http://127.0.0.1:{env['GATEWAY_HTTP_PORT']}"
        self.settings = config.load(env)


@pytest.fixture(scope="session")
def system(tmp_path_factory):
    reason = _missing()
    if reason:
        pytest.skip(reason)
    logs = tmp_path_factory.mktemp("make-run")
    services = list(config.PROCESSES)
    amqp_port, pg_port, *http_ports = free_ports(2 + len(services))
    env = {k: v for k, v in os.environ.items() if not CONFIG_VARS.match(k)}
    env.update({
        "AMQP_URI": f"amqp://jinwei:jinwei@127.0.0.1:{amqp_port}/jinwei",
        "POSTGRES_ADMIN_URL": f"postgresql://postgres@127.0.0.1:{pg_port}/postgres",
        "JINWEI_VAR_DIR": str(logs / "var"),
        "JINWEI_READY_TIMEOUT": "150",
        "JINWEI_NO_INSTALL": "1",
        "JINWEI_ADMIN_PASSWORD": ADMIN_PASSWORD,
        # The console's gateway signs in the county's accounts (and the province's).
        "JINWEI_CONSOLE_SIGN_IN_PLACE": "330000000000",
    })
    for service, port in zip(services, http_ports, strict=True):
        env[f"{service.upper()}_HTTP_PORT"] = str(port)
    own = {5672: port_answers(5672), 5432: port_answers(5432)}
    try:
        started = time.monotonic()
        output = make("run", env, logs / "make-run.log", RUN_TIMEOUT)
        assert "/console/" in output, "make run does not print the console's address"
        print(f"make run took {time.monotonic() - started:.1f}s")
        make("places", env, logs / "make-places.log", 120)
        make("admin", env, logs / "make-admin.log", 120, f"PLACE={COUNTY}", f"USER={ADMIN}",
             "NAME=遂昌县管理员", "DEPARTMENT=遂昌县委组织部")
        yield System(env, logs)
    finally:
        # The services' logs go with the artifacts (`clean` deletes var/).
        if (logs / "var" / "log").is_dir():
            shutil.copytree(logs / "var" / "log", ARTIFACTS / "logs", dirs_exist_ok=True)
        subprocess.run([str(REPO / ".venv" / "bin" / "python"), "-m", "tools.launcher",
                        "clean"], env=env, cwd=REPO, stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=STOP_TIMEOUT)
        for port, answered in own.items():
            assert port_answers(port) == answered, f"the machine's own service on {port} changed"


class Page:
    """A Chromium window on the console: go, fill, submit, screenshot, axe."""

    def __init__(self, driver, base: str, name: str):
        self.driver, self.base, self.name = driver, base, name
        self.shots = ARTIFACTS / name
        shutil.rmtree(self.shots, ignore_errors=True)
        self.shots.mkdir(parents=True)
        self.count = 0

    def go(self, path: str) -> None:
        self.driver.get(self.base + path)

    @property
    def path(self) -> str:
        return self.driver.current_url.removeprefix(self.base)

    @property
    def text(self) -> str:
        from selenium.webdriver.common.by import By
        return self.driver.find_element(By.TAG_NAME, "body").text

    def find(self, css: str):
        from selenium.webdriver.common.by import By
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def find_all(self, css: str):
        from selenium.webdriver.common.by import By
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def fill(self, fields: dict[str, str]) -> None:
        for name, value in fields.items():
            element = self.find(f"[name='{name}']")
            element.clear()
            element.send_keys(value)

    def click(self, css: str) -> None:
        """Click what leads to another page (a submit button, a link), and wait for it."""
        self._navigating(lambda: self.find(css).click())

    def tick(self, css: str) -> None:
        """Click what stays on the page (a checkbox)."""
        self.find(css).click()

    def link(self, text: str) -> None:
        from selenium.webdriver.common.by import By
        self._navigating(
            lambda: self.driver.find_element(By.PARTIAL_LINK_TEXT, text).click())

    def _navigating(self, act) -> None:
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import WebDriverWait

        old = self.driver.find_element(By.TAG_NAME, "html")
        act()

        def left(_driver) -> bool:
            # Gone, however Chromium says so: a stale element, or (caught mid-navigation)
            # "Node with given id does not belong to the document" — which selenium's own
            # staleness_of does not take for gone.
            try:
                old.is_enabled()
                return False
            except WebDriverException:
                return True

        WebDriverWait(self.driver, 30).until(left)
        WebDriverWait(self.driver, 30).until(
            lambda d: d.execute_script("return document.readyState") == "complete")

    def shot(self, step: str) -> Path:
        self.count += 1
        path = self.shots / f"{self.count:02d}-{step}.png"
        height = self.driver.execute_script("return document.body.scrollHeight")
        width = self.driver.get_window_size()["width"]
        self.driver.set_window_size(width, max(600, min(int(height) + 120, 6000)))
        self.driver.save_screenshot(str(path))
        return path

    def axe(self) -> list[dict]:
        """axe-core's serious and critical violations on the page as it is now (WCAG 2.x
        A and AA rules). WebDriver's script runs outside the page's CSP."""
        self.driver.execute_script(AXE.read_text())
        result = self.driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "axe.run(document, {runOnly: {type: 'tag', values: "
            "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})"
            ".then(r => done(JSON.stringify(r.violations))).catch(e => done(String(e)));")
        violations = json.loads(result)
        return [{"id": v["id"], "impact": v["impact"], "help": v["help"],
                 "nodes": [n["target"] for n in v["nodes"]][:5]}
                for v in violations if v["impact"] in ("serious", "critical")]


@pytest.fixture
def chromium(request):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--disable-gpu", "--lang=zh-CN", "--window-size=1280,900"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def page(chromium, system, request):
    return Page(chromium, system.url, request.node.name)


def sign_in(page: Page, username: str, password: str) -> None:
    page.go("/console/login")
    page.fill({"username": username, "password": password})
    page.click("button[type=submit]")
    assert page.path.startswith("/console/") and "/login" not in page.path, page.text
