"""Every console page in Chromium against `make run`: each one opens without an error,
passes axe-core, and is screenshot; the ledger and the dashboard at phone width fit the
screen; an import uploaded as a dry run shows its progress and the errors by row under
the Chinese column headings."""

from __future__ import annotations

import io

import openpyxl

from services.gateway.spreadsheets import columns
from tests.browser.conftest import ADMIN, ADMIN_PASSWORD, COUNTY, sign_in
from tests.support import eventually

PAGES = {
    "organizations": "/console/organizations",
    "grading": "/console/grading",
    "ledger": f"/console/ledger?place={COUNTY}",
    "transfers": "/console/transfers",
    "enterprises": "/console/enterprises",
    "reserves": "/console/reserves",
    "venues": "/console/venues",
    "accounts": "/console/accounts",
    "account": f"/console/accounts/{ADMIN}",
    "password": "/console/password",
}
PHONE = (390, 844)


def test_every_page_opens_passes_axe_and_fits_a_phone(page):
    sign_in(page, ADMIN, ADMIN_PASSWORD)
    for name, path in PAGES.items():
        page.go(path)
        title = page.driver.title
        assert not title.startswith(("系统出错", "服务暂不可用", "页面不存在", "无权操作")), (
            name, title, page.text[:300])
        page.shot(name)
        assert page.axe() == [], name
        # every page can be left by the keyboard's first stop: the skip link
        assert page.find("a.skip").get_attribute("href").endswith("#main")

    page.driver.set_window_size(*PHONE)
    for name in ("/console/", f"/console/ledger?place={COUNTY}"):
        page.go(name)
        page.shot("phone-" + (name.strip("/").split("?")[0].replace("/", "-") or "home"))
        overflow = page.driver.execute_script(
            "return document.documentElement.scrollWidth - "
            "document.documentElement.clientWidth")
        wide = page.driver.execute_script(
            "const w = document.documentElement.clientWidth; return [...document.querySelectorAll"
            "('body *')].filter(e => e.getBoundingClientRect().right > w + 1 && "
            "!e.closest('.table-wrap')).slice(0, 5).map(e => e.tagName + '.' + e.className"
            " + ' ' + (e.textContent || '').slice(0, 30))")
        assert overflow <= 0, f"{name} is {overflow}px wider than a phone: {wide}"
        assert page.axe() == [], name


def organizations_workbook() -> bytes:
    """An organizations import: one good row, one whose 组织类别 and 成立日期 are wrong."""
    spec = columns.kind("organizations")
    headings = [column.heading for column in spec.columns]
    good = {"党组织名称": "青山村党支部（试导入）", "组织类别": "党支部", "所属领域": "农村",
            "所在地区代码": "331123001001", "正式党员数": 5, "成立日期": "2020-01-01"}
    bad = {**good, "党组织名称": "白水村党支部（试导入）", "组织类别": "党小组",
           "成立日期": "去年春天"}
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(headings)
    for row in (good, bad):
        sheet.append([row.get(heading) for heading in headings])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_an_import_dry_run_shows_its_errors_by_row_and_heading(page, tmp_path):
    sign_in(page, ADMIN, ADMIN_PASSWORD)
    upload = tmp_path / "党组织.xlsx"
    upload.write_bytes(organizations_workbook())
    page.go("/console/transfers")
    page.find("#file-organizations").send_keys(str(upload))
    assert page.find(
        "form[action^='/console/transfers/imports/organizations'] input[name=dry_run]"
    ).is_selected()  # a dry run unless unticked
    page.click("form[action^='/console/transfers/imports/organizations'] button[type=submit]")
    assert page.path.startswith("/console/transfers/jobs/organizations/")

    def finished():
        page.go(page.path)
        return "正在检查" not in page.text

    eventually(finished, what="the import job finishing")
    text = page.text
    assert "所有行都没有写入" in text and "第 3 行" in text and "第 2 行" not in text
    assert "组织类别" in text and "成立日期" in text
    # said in Chinese, with what the column takes (never the API's "Must be one of: 611…")
    assert "应为以下之一：党委、党总支、党支部、联合党支部" in text and "Must be" not in text
    assert "日期格式不对" in text
    page.shot("import-errors")
    assert page.axe() == []
