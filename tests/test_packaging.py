"""`pip install .` gives a working netcoach: a real wheel, installed in a fresh venv."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
SETUPTOOLS = PYPROJECT["tool"]["setuptools"]
PIP = (sys.executable, "-m", "pip", "--quiet")


def test_every_package_folder_is_listed_for_the_wheel():
    """A folder missing from pyproject's list would be missing from the installed netcoach."""
    listed = set(SETUPTOOLS["packages"])
    for top in ("bot", "adapters"):
        for init in (ROOT / top).rglob("__init__.py"):
            if ".venv" in init.parts:
                continue
            package = ".".join(("netcoach", *init.parent.relative_to(ROOT).parts))
            assert package in listed, f"{package} is not in pyproject's [tool.setuptools] packages"


def _copy_source(dest: Path) -> Path:
    """The files a clone has, without the venv, caches or build leftovers."""
    skip = shutil.ignore_patterns(
        ".venv", ".git", "__pycache__", "*.egg-info", "build", ".*_cache", "*.sqlite3*"
    )
    shutil.copytree(ROOT, dest, ignore=skip)
    return dest


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv holding only the wheel; its dependencies are borrowed from this venv
    through a .pth line (a path added that way has its own .pth files ignored, so the
    editable netcoach of the working tree stays out)."""
    tmp = tmp_path_factory.mktemp("wheel")
    source = _copy_source(tmp / "src")
    dist = tmp / "dist"
    subprocess.run(
        [*PIP, "wheel", "--no-deps", "--no-build-isolation", "--wheel-dir", str(dist), str(source)],
        check=True,
        timeout=300,
    )
    (wheel,) = dist.glob("netcoach-*.whl")
    env_dir = tmp / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    (Path(site) / "netcoach-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [*PIP, "--python", str(python), "install", "--no-deps", "--no-index", str(wheel)],
        check=True,
        timeout=300,
    )
    return env_dir


def _run(env_dir: Path, *args: str, stdin: str = "", cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DISCORD_TOKEN")}
    env.pop("TELEGRAM_BOT_TOKEN", None)
    return subprocess.run(
        [env_dir / "bin" / "netcoach", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
    )


def test_the_wheel_reviews_a_draft_with_the_playbooks_inside(installed, tmp_path):
    where = subprocess.run(
        [installed / "bin" / "python", "-c", "import netcoach.bot; print(netcoach.bot.__file__)"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=True,
    ).stdout
    assert str(installed) in where, "netcoach must come from the wheel, not the working tree"
    result = _run(installed, "review", "Hello! I'd love to pick your brain.", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "worth a revision" in result.stdout and "Give before you take" in result.stdout
    listed = _run(installed, "playbooks", "list", cwd=tmp_path)
    assert listed.returncode == 0 and "networking-not-marketing" in listed.stdout


def test_the_wheel_runs_the_console_chat(installed, tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text(f"database: {tmp_path / 'db.sqlite3'}\n", encoding="utf-8")
    result = _run(installed, "run", "--config", str(config), stdin="/help\n", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "/followup" in result.stdout
