"""The README's commands are the ones CI runs (.ci/run), and every ``bot.py`` command and
document it names exists."""

from __future__ import annotations

import re
from pathlib import Path

from cli import COMMAND_MODULES

REPO_ROOT = Path(__file__).resolve().parents[2]
README = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
CI = (REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8")
WRITTEN_BY_OTHERS: set[str] = set()  # every linked page is in the repository


def _block_after(heading: str) -> list[str]:
    """The commands of the first ```bash block after ``heading``."""
    section = README[README.index(heading):]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    return [line for line in block.splitlines() if line.strip() and not line.startswith("#")]


def _in_ci(command: str) -> bool:
    """``command`` as CI runs it: the fresh environment "$venv" in place of .venv."""
    return command.replace(".venv", '"$venv"') in CI


def test_the_two_set_up_commands_need_neither_python_nor_an_activated_environment():
    install, demo = _block_after("## 快速开始")

    assert install.startswith("python3 -m venv .venv && .venv/bin/pip install")
    assert demo == ".venv/bin/python bot.py demo"
    assert _block_after("# English")[:2] == [install, demo]


def test_ci_runs_the_readme_set_up_and_test_commands_as_written():
    install, demo = _block_after("## 快速开始")
    [test] = _block_after("## 测试")

    assert _in_ci(install)
    assert _in_ci(demo)
    assert _in_ci(test)
    assert "pg_isready" in CI


def test_every_bot_command_the_readme_names_exists():
    commands = {module.rsplit(".", 1)[-1].removesuffix("_cmd") for module in COMMAND_MODULES}
    named = set(re.findall(r"bot\.py (?:-v )?([a-z]+)", README))

    assert named and named <= commands
    assert {"demo", "init", "import", "check", "run", "migrate", "backup"} <= named


def test_documents_the_readme_links_exist_and_evidence_has_its_heading():
    links = set(re.findall(r"\]\((docs/[^)#]+)\)", README))

    assert "docs/deploy.md" in links
    assert [link for link in links - WRITTEN_BY_OTHERS if not (REPO_ROOT / link).is_file()] == []
    evidence = README.split("## 佐证材料", 1)[1].split("\n## ", 1)[0]
    # who can see it, where it is kept, how to export it (issue 17), and the page with the rest
    assert "谁能看" in evidence and "存在哪里" in evidence and "--evidence" in evidence
    assert "(docs/evidence.md)" in evidence
