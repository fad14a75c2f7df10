"""The shared layer build: rebuilt only when its inputs change, never with the developer tools."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from synthesized_stack import Synthesized

from infra import layer

pytestmark = pytest.mark.slow


def test_an_unchanged_layer_is_not_rebuilt(synthesized: Synthesized, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the layer the session's synth built, and pip made unavailable
    def no_pip(target: Path) -> None:
        raise AssertionError("pip ran although the requirements did not change")

    monkeypatch.setattr(layer, "_pip_install", no_pip)

    # When building it again
    build_dir = layer.build_shared_layer()

    # Then nothing is downloaded and the layer is still complete
    assert (build_dir / "python" / "backoffice" / "__init__.py").is_file()


def test_a_package_change_recopies_the_package_without_downloading(
    synthesized: Synthesized, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Given a built layer and a package with one more module than the one it was built from
    build_dir = tmp_path / "build"
    (build_dir / "python").mkdir(parents=True)  # the dependencies, as far as the stamps can tell
    for stamp in layer.BUILD_DIR.glob(".*.sha256"):
        shutil.copy(stamp, build_dir / stamp.name)
    package = tmp_path / "backoffice"
    shutil.copytree(layer.PACKAGE_DIR, package, ignore=shutil.ignore_patterns("__pycache__"))
    (package / "brand_new_capability.py").write_text("ANSWER = 42\n")
    (package / "local").mkdir(exist_ok=True)
    (package / "local" / "only_on_laptops.py").write_text("")
    monkeypatch.setattr(layer, "PACKAGE_DIR", package)
    monkeypatch.setattr(layer, "_pip_install", lambda target: pytest.fail("dependencies did not change"))

    # When building the layer
    layer.build_shared_layer(build_dir)

    # Then the new module is in, the developer tools are not
    built = build_dir / "python" / "backoffice"
    assert (built / "brand_new_capability.py").read_text() == "ANSWER = 42\n"
    assert not (built / "local").exists()
    assert not (built / "cli").exists()
