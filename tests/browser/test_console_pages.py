"""The console's pages in Chromium against `make run`: signing in, the dashboard at
desktop and phone width, the keyboard path to the main content, and axe-core finding no
serious violation on any page visited. (The county staffer's whole day is
test_county_day.py.)"""

from __future__ import annotations

from tests.browser.conftest import ADMIN, ADMIN_PASSWORD, sign_in


def test_sign_in_dashboard_and_phone_width(page):
    page.go("/")
    assert page.path == "/console/login", "/ leads to the console's sign-in page"
    assert "登录" in page.text
    assert page.axe() == []
    page.shot("login")

    page.fill({"username": ADMIN, "password": "not-the-password"})
    page.click("button[type=submit]")
    assert "用户名或密码不正确" in page.text
    assert page.axe() == []
    page.shot("login-failed")

    sign_in(page, ADMIN, ADMIN_PASSWORD)
    assert "遂昌县" in page.text and "工作概览" in page.text
    assert page.axe() == []
    page.shot("dashboard")

    # Keyboard: the first Tab reaches "跳到正文", which moves focus to the main content.
    from selenium.webdriver.common.keys import Keys
    body = page.find("body")
    body.send_keys(Keys.TAB)
    focused = page.driver.switch_to.active_element
    assert focused.text == "跳到正文"
    focused.send_keys(Keys.ENTER)
    assert page.driver.switch_to.active_element.get_attribute("id") == "main"

    # Phone width: nothing wider than the screen but the tables' own scrolling boxes.
    page.driver.set_window_size(390, 844)
    page.go("/console/")
    overflow = page.driver.execute_script(
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the dashboard is {overflow}px wider than a phone"
    assert page.axe() == []
    page.shot("dashboard-phone")
