"""Every role a token can carry, with the label staff see: part of the public contract (a
service's RPC names the role it needs; docs/contract.md lists them). Pure data, so the
contracts and the console can name roles without the runtime; shared.platform.auth checks
them."""

from __future__ import annotations

ROLES: dict[str, str] = {
    "places.admin": "行政区划维护",
    "organizations.read": "党组织信息查询",
    "organizations.write": "党组织信息维护",
    "evaluation.read": "考评信息查询",
    "evaluation.write": "考评信息维护",
    "npe.read": "非公企业党建信息查询",
    "npe.write": "非公企业党建信息维护",
    "cadres.read": "干部人才信息查询",
    "cadres.write": "干部人才信息维护",
    # Whole identity numbers: everyone else sees them masked (domain.md §5).
    "cadres.personal_data": "干部个人敏感信息查看",
    "resources.read": "经费场所信息查询",
    "resources.write": "经费场所信息维护",
    "audit.read": "操作记录查询",
    # The staff console (shared/contracts/accounts.py).
    "accounts.admin": "账号管理",
    "accounts.sign_in": "登录验证（网关）",
    "console.user": "控制台用户",
}
