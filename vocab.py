"""The ledger's fixed vocabularies: statuses, categories, roles, event sources.

These are the exact Chinese words stored in the database and shown to users. The parser
(nlp/), the ledger (db/) and the use cases (services/) all read them here, so this module
imports nothing of the project.
"""

from enum import StrEnum


class IssueStatus(StrEnum):
    OPEN = "未整改"
    IN_PROGRESS = "整改中"
    RECTIFIED = "已整改"
    CLOSED = "已销号"


class HouseholdStatus(StrEnum):
    POOR = "未脱贫"
    LIFTED = "已脱贫"
    MONITORED = "监测户"


CATEGORIES: tuple[str, ...] = (
    "饮水", "住房", "医疗", "教育", "产业", "就业", "兜底保障", "基础设施", "档案", "集体经济",
)


class Role(StrEnum):
    ADMIN = "admin"            # 扶贫办
    SUPERVISOR = "supervisor"  # 督巡办
    LEADER = "leader"          # 县级领导
    TOWNSHIP = "township"      # 乡镇
    VILLAGE = "village"        # 驻村工作队 / 村干部
    DEPARTMENT = "department"  # 行业部门


ROLE_LABELS: dict[Role, str] = {
    Role.ADMIN: "扶贫办管理员",
    Role.SUPERVISOR: "督巡办",
    Role.LEADER: "县级领导",
    Role.TOWNSHIP: "乡镇干部",
    Role.VILLAGE: "驻村工作队",
    Role.DEPARTMENT: "行业部门",
}


class EventSource(StrEnum):
    IMPORT = "import"
    TELEGRAM = "telegram"
    CONSOLE = "console"
    CLI = "cli"
    SYSTEM = "system"
