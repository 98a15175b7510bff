"""Ledger files for tests: a small county in canonical form, and writers that save it as
an office would (title line, 序号 column, header variants, Excel dates, CSV in GBK)."""

from __future__ import annotations

import copy
import csv
import datetime as dt
from pathlib import Path

from openpyxl import Workbook
from sqlalchemy import delete, func, select
from sqlalchemy.orm import aliased

from db.models import Household, Issue, IssueEvent, Township, Village

Sheets = dict[str, list[list]]  # sheet name -> rows, the first row the header

VILLAGE_HEADER = ["乡镇", "村"]
HOUSEHOLD_HEADER = ["户编号", "乡镇", "村", "户主姓名", "家庭人口", "状态", "致贫原因", "帮扶责任人"]
ISSUE_HEADER = ["编号", "乡镇", "村", "户主姓名", "问题类别", "问题描述", "状态", "整改期限", "责任单位", "户编号", "督办"]


def sample_sheets() -> Sheets:
    """A small ledger with the demo county's traps: same-name villages and same-name heads."""
    return copy.deepcopy({
        "村": [
            VILLAGE_HEADER,
            ["东光镇", "东台村"],
            ["东光镇", "东光村"],
            ["汪清镇", "天平村"],
            ["汪清镇", "新兴村"],
            ["百草沟镇", "新兴村"],
            ["百草沟镇", "三道村"],
        ],
        "户": [
            HOUSEHOLD_HEADER,
            ["222424-0001", "汪清镇", "天平村", "李兆满", 4, "未脱贫", "因病", "王建国"],
            ["222424-0002", "东光镇", "东台村", "刘在龙", 3, "监测户", "缺劳力", "金明哲"],
            ["222424-0006", "百草沟镇", "三道村", "张玉兰", 3, "未脱贫", "因病", "孙丽"],
            ["222424-0007", "百草沟镇", "三道村", "张玉兰", 2, "已脱贫", "缺技术", "孙丽"],
            ["222424-0016", "百草沟镇", "新兴村", "杨文成", 2, "未脱贫", "因病", None],
        ],
        "问题": [
            ISSUE_HEADER,
            ["ZG-0001", "汪清镇", "天平村", "李兆满", "住房", "危房改造未完工", "整改中",
             dt.date(2026, 12, 11), "住建局", None, "否"],
            ["ZG-0003", "东光镇", "东台村", None, "饮水", "自来水管道冻裂，饮水不安全", "未整改",
             dt.date(2026, 12, 3), "水利局", None, "是"],
            ["ZG-0009", "百草沟镇", "三道村", "张玉兰", "档案", "户档缺帮扶人签字", "未整改",
             dt.date(2026, 12, 2), "百草沟镇", "222424-0006", "否"],
            ["ZG-0018", "百草沟镇", "新兴村", "杨文成", "医疗", "医保未参保", "已整改",
             None, "医保局", None, "否"],
            ["ZG-0025", "汪清镇", "新兴村", None, "饮水", "自来水未通到屯", "已销号",
             dt.date(2026, 11, 1), "水利局", None, "否"],
        ],
    })


def write_xlsx(path: Path, sheets: Sheets, *, title: str | None = None) -> Path:
    """Save sheets as a workbook; ``title`` adds a heading line above each header."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    for name, rows in sheets.items():
        sheet = workbook.create_sheet(name)
        if title:
            sheet.append([title])
        for row in rows:
            sheet.append(row)
    workbook.save(path)
    return path


def write_long_workbook(path: Path, rows: int) -> Path:
    """A workbook whose 户 sheet has ``rows`` data rows of one number each (every one a bad
    row), written in write-only mode like the testers' 1,000,000-row file: a few MB on
    disk, under the size limits, so that only the row cap can refuse it. No recorded sheet
    size, as write-only mode writes none: the worst case for opening it."""
    workbook = Workbook(write_only=True)
    for name, header in (("村", VILLAGE_HEADER), ("户", HOUSEHOLD_HEADER), ("问题", ISSUE_HEADER)):
        sheet = workbook.create_sheet(name)
        sheet.append(header)
        if name == "户":
            for n in range(rows):
                sheet.append([n])
    workbook.save(path)
    return path


def write_csv_folder(folder: Path, sheets: Sheets, *, encoding: str = "utf-8") -> Path:
    """Save the 村/户/问题 sheets as villages.csv, households.csv, issues.csv."""
    names = {"村": "villages.csv", "户": "households.csv", "问题": "issues.csv"}
    folder.mkdir(parents=True, exist_ok=True)
    for sheet, rows in sheets.items():
        with open(folder / names[sheet], "w", encoding=encoding, newline="") as handle:
            writer = csv.writer(handle)
            for row in rows:
                writer.writerow(["" if v is None else (v.strftime("%Y/%m/%d") if isinstance(v, dt.date) else v)
                                 for v in row])
    return folder


def office_workbook(path: Path) -> Path:
    """The sample ledger as a county office really keeps it: a title line, 序号 and 备注
    columns, header variants, padded and full-width cells, text dates next to Excel dates."""
    sheets = sample_sheets()
    villages = [["序号", "乡镇名称", "行政村"]] + [[n, *row] for n, row in enumerate(sheets["村"][1:], 1)]
    households = [["序号", "户编号", "乡镇", "村", "户主", "人口数", "脱贫状态", "致贫原因", "帮扶人", "备注"]]
    for n, row in enumerate(sheets["户"][1:], 1):
        code, township, village, head, size, status, cause, helper = row
        households.append([n, code, f" {township}", village, " ".join(head), str(size), status, cause, helper, None])
    households[1][5] = "４"  # full-width digit
    issues = [["序号", "编号", "乡镇", "村", "户主", "问题类型", "问题描述", "整改状态", "完成时限", "责任单位", "户编号", "是否督办"]]
    for n, row in enumerate(sheets["问题"][1:], 1):
        issues.append([n, *row])
    issues[1][8] = "2026年12月11日"
    issues[2][8] = "2026.12.3"
    workbook = {"村": villages, "户": households, "问题": issues}
    return write_xlsx(path, workbook, title="汪清县脱贫攻坚问题整改台账")


def ledger_snapshot(database) -> dict:
    """Everything an import or export carries, by natural keys, for comparisons."""
    with database.transaction() as session:
        villages = set(map(tuple, session.execute(select(Township.name, Village.name).join(Township))))
        households = set(map(tuple,
            session.execute(
                select(Household.code, Township.name, Village.name, Household.head_name, Household.size,
                       Household.status, Household.poverty_cause, Household.helper)
                .join(Village, Household.village_id == Village.id).join(Township)
            ),
        ))
        linked = aliased(Household)
        issues = set(map(tuple,
            session.execute(
                select(Issue.code, Township.name, Village.name, linked.code, Issue.category,
                       Issue.description, Issue.status, Issue.deadline, Issue.responsible_unit,
                       Issue.supervised)
                .join(Village, Issue.village_id == Village.id).join(Township)
                .outerjoin(linked, Issue.household_id == linked.id)
            ),
        ))
    return {"villages": villages, "households": households, "issues": issues}


def row_counts(database) -> dict[str, int]:
    """How many rows each ledger table has."""
    with database.transaction() as session:
        return {
            model.__tablename__: session.scalar(select(func.count()).select_from(model))
            for model in (Township, Village, Household, Issue, IssueEvent)
        }


def wipe_ledger(database) -> None:
    """Delete every ledger row (children first), leaving an empty, migrated database."""
    with database.transaction() as session:
        for model in (IssueEvent, Issue, Household, Village, Township):
            session.execute(delete(model))
