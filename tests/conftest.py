"""Shared fixtures. Tests never touch the user's home or the network beyond loopback."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("model-cache")


@pytest.fixture(autouse=True)
def _isolate(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, model_cache: Path) -> None:
    """Each test runs in its own folder; the assembled GGUF is shared per session."""
    monkeypatch.setenv("OPSBENCH_MODEL_CACHE", str(model_cache))
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def registry_copy(tmp_path: Path) -> Path:
    """A private copy of the shipped registry that a test may break."""
    dest = tmp_path / "registry"
    shutil.copytree(REPO / "registry", dest)
    return dest


@pytest.fixture
def site_inputs(tmp_path: Path, registry_copy: Path) -> dict[str, Path]:
    """Registry, site_src and mkdocs.yml copied into the test folder."""
    shutil.copytree(REPO / "site_src", tmp_path / "site_src")
    shutil.copy(REPO / "mkdocs.yml", tmp_path / "mkdocs.yml")
    shutil.copytree(REPO / "overrides", tmp_path / "overrides")  # theme.custom_dir, relative to mkdocs.yml
    return {
        "registry": registry_copy,
        "site_src": tmp_path / "site_src",
        "config": tmp_path / "mkdocs.yml",
        "runs": tmp_path / "runs",
    }
