"""deploy/: the systemd unit (systemd-analyze verify where it exists, and a lint), the
container recipe and compose file (a build-free lint: no image is built here)."""

from __future__ import annotations

import configparser
import fnmatch
import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path, PurePosixPath

import pytest
import yaml
from packaging.specifiers import SpecifierSet
from sqlalchemy.engine import make_url

import settings as settings_module
from cli import COMMAND_MODULES

REPO_ROOT = Path(__file__).resolve().parents[2]
DEPLOY = REPO_ROOT / "deploy"
UNIT = DEPLOY / "gongjian.service"
CONTAINERFILE = DEPLOY / "Containerfile"
COMPOSE = DEPLOY / "compose.yaml"
# Keys systemd before 254 (Debian 12) does not know; it ignores them with this warning.
NEWER_SYSTEMD_KEYS = ("RestartSteps", "RestartMaxDelaySec")
PROXY_VARIABLES = {"HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy"}


def _settings_variables() -> set[str]:
    """Environment variables load_settings reads: the overrides and every environ.get("...")."""
    source = Path(settings_module.__file__).read_text(encoding="utf-8")
    return set(settings_module.ENV_OVERRIDES) | set(re.findall(r'environ\.get\("([A-Za-z_]+)"\)', source))


def _commands() -> set[str]:
    """bot.py's subcommands: cli/<name>_cmd.py, registered in cli.COMMAND_MODULES."""
    return {module.rsplit(".", 1)[-1].removesuffix("_cmd") for module in COMMAND_MODULES}


def _unit() -> configparser.ConfigParser:
    unit = configparser.ConfigParser(interpolation=None, strict=True)
    unit.optionxform = str  # systemd keys are case-sensitive
    unit.read(UNIT, encoding="utf-8")
    return unit


def _env_file_names(path: Path) -> set[str]:
    """Variable names in a KEY=value file, commented-out examples included."""
    return set(re.findall(r"^#?([A-Za-z_][A-Za-z0-9_]*)=", path.read_text(encoding="utf-8"), re.M))


# -- systemd ------------------------------------------------------------------------------


def test_unit_runs_the_bot_from_its_folder_restarts_on_failure_and_logs_to_the_journal():
    service = _unit()["Service"]
    folder = PurePosixPath(service["WorkingDirectory"])
    interpreter, script, command = service["ExecStart"].split()

    assert service["User"] and service["User"] != "root"
    assert PurePosixPath(interpreter) == folder / ".venv/bin/python"  # README's set-up makes .venv
    assert PurePosixPath(script).parent == folder
    assert (REPO_ROOT / PurePosixPath(script).name).is_file()
    assert command == "run" and command in _commands()
    assert service["Restart"] == "on-failure" and service["RestartSec"]
    assert service["StandardOutput"] == service["StandardError"] == "journal"
    assert str(folder) in service["ReadWritePaths"].split()
    assert _unit()["Install"]["WantedBy"] == "multi-user.target"


def test_unit_reads_its_secrets_from_an_environment_file_with_names_settings_reads():
    service = _unit()["Service"]
    names = _env_file_names(DEPLOY / "gongjian.env.example")

    assert service["EnvironmentFile"].startswith("/etc/")
    assert "TELEGRAM_BOT_TOKEN" in names and "HTTPS_PROXY" in names
    assert names <= _settings_variables() | {"GONGJIAN_CONFIG"}


def test_readme_set_up_makes_the_virtual_environment_the_unit_uses():
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")

    assert "python3 -m venv .venv" in readme
    assert "deploy/gongjian.service" in readme


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_analyze_verify_passes_with_the_repository_as_the_install_folder(tmp_path):
    folder = _unit()["Service"]["WorkingDirectory"]
    text = UNIT.read_text(encoding="utf-8")
    text = text.replace(f"{folder}/.venv/bin/python", sys.executable).replace(folder, str(REPO_ROOT))
    unit = tmp_path / UNIT.name
    unit.write_text(text, encoding="utf-8")

    result = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60
    )

    complaints = [
        line for line in (result.stdout + result.stderr).splitlines()
        if line.strip() and not any(f"Unknown key '{key}'" in line for key in NEWER_SYSTEMD_KEYS)
    ]
    assert result.returncode == 0 and complaints == [], result.stdout + result.stderr


# -- container ----------------------------------------------------------------------------


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Containerfile, continuation lines joined."""
    lines, current = [], ""
    for raw in CONTAINERFILE.read_text(encoding="utf-8").splitlines():
        if raw.lstrip().startswith("#") or not raw.strip():
            continue
        current += raw.rstrip().removesuffix("\\") + " "
        if not raw.rstrip().endswith("\\"):
            lines.append(current.strip())
            current = ""
    assert not current, "a continued line never ends"
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def test_containerfile_installs_the_project_and_runs_the_bot_as_a_plain_user():
    instructions = _instructions()
    by_name = {name: args for name, args in instructions}
    python = re.match(r"python:(3\.\d+)", by_name["FROM"])
    requires = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["requires-python"]

    assert instructions[0][0] == "FROM" and python
    assert SpecifierSet(requires).contains(python.group(1))  # matplotlib brings packaging
    assert ("COPY", ". .") in instructions
    assert "pip install" in by_name["RUN"] and "cp config.yaml /data/config.yaml" in by_name["RUN"]
    assert by_name["USER"] not in ("root", "0")
    assert json.loads(by_name["ENTRYPOINT"]) == ["python", "bot.py"]
    assert json.loads(by_name["CMD"])[0] in _commands()
    health = json.loads(by_name["HEALTHCHECK"].split("CMD", 1)[1])
    assert health[-2:] == ["bot.py", "check"]
    assert "GONGJIAN_CONFIG=/data/config.yaml" in by_name["ENV"]
    assert "/data" in json.loads(by_name["VOLUME"])


def test_containerfile_ignore_list_keeps_what_the_bot_needs():
    patterns = [
        line.strip() for line in (DEPLOY / "Containerfile.dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    needed = ["bot.py", "settings.py", "config.yaml", "pyproject.toml", "cli/init_cmd.py",
              "db/migrations/env.py", "nlp/parser.py", "services/demo.py", "tests/corpus"]

    def ignored(path: str) -> bool:
        parts = path.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        return any(fnmatch.fnmatch(p, pattern.removeprefix("**/")) for pattern in patterns for p in prefixes)

    assert [path for path in needed if (REPO_ROOT / path).exists() and ignored(path)] == []
    assert ignored(".git") and ignored("gongjian.db") and ignored(".venv")


def _compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def test_compose_builds_the_containerfile_and_waits_for_a_healthy_postgresql():
    compose = _compose()
    bot_service, db = compose["services"]["bot"], compose["services"]["db"]
    build = bot_service["build"]

    assert (COMPOSE.parent / build["context"] / build["dockerfile"]).resolve() == CONTAINERFILE
    assert db["image"].startswith("postgres:")
    assert "pg_isready" in db["healthcheck"]["test"]
    assert bot_service["depends_on"]["db"]["condition"] == "service_healthy"
    assert bot_service["healthcheck"]["test"][-2:] == ["bot.py", "check"]


def test_compose_keeps_database_evidence_and_backups_in_named_volumes():
    compose = _compose()
    mounts = {
        service: {volume.split(":")[1]: volume.split(":")[0] for volume in spec.get("volumes", [])}
        for service, spec in compose["services"].items()
    }

    assert mounts["db"]["/var/lib/postgresql/data"] in compose["volumes"]
    assert mounts["bot"]["/data"] in compose["volumes"]  # config.yaml, evidence/ beside it
    assert mounts["bot"]["/backups"] == mounts["db"]["/backups"] in compose["volumes"]


def test_compose_passes_only_variables_settings_reads_and_a_matching_database_url():
    compose = _compose()
    env = compose["services"]["bot"]["environment"]
    db_env = compose["services"]["db"]["environment"]
    url = make_url(re.sub(r"\$\{(\w+)[^}]*\}", r"\1", env["DATABASE_URL"]))
    referenced = set(re.findall(r"\$\{(\w+)", COMPOSE.read_text(encoding="utf-8")))

    assert set(env) <= _settings_variables() | {"GONGJIAN_CONFIG"}
    assert (url.host, url.username, url.database) == ("db", db_env["POSTGRES_USER"], db_env["POSTGRES_DB"])
    assert url.get_backend_name() == "postgresql"
    assert referenced <= _env_file_names(DEPLOY / "compose.env.example")
