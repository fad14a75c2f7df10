"""The shared layer build: what the handlers reach, rebuilt only when it changes, never the developer tools."""

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


def test_a_package_change_recopies_what_the_handlers_reach_without_downloading(
    synthesized: Synthesized, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Given a built layer, and a package with more than the one it was built from: a handler that imports a new
    # module (which imports another inside a function), a new module nothing imports, a laptop-only module and a
    # data file beside a shipped module
    build_dir = tmp_path / "build"
    (build_dir / "python").mkdir(parents=True)  # the dependencies, as far as the stamps can tell
    for stamp in layer.BUILD_DIR.glob(".*.sha256"):
        shutil.copy(stamp, build_dir / stamp.name)
    package = tmp_path / "backoffice"
    shutil.copytree(layer.PACKAGE_DIR, package, ignore=shutil.ignore_patterns("__pycache__"))
    (package / "brand_new_step.py").write_text(
        "def answer() -> int:\n    from backoffice.brand_new_rule import ANSWER\n\n    return ANSWER\n"
    )
    (package / "brand_new_rule.py").write_text("ANSWER = 42\n")
    (package / "brand_new_capability.py").write_text("ANSWER = 43\n")
    (package / "local" / "only_on_laptops.py").write_text("")
    (package / "approvals" / "regional_policy.json").write_text("{}\n")
    handlers = tmp_path / "functions"
    shutil.copytree(layer.HANDLERS_DIR, handlers, ignore=shutil.ignore_patterns("__pycache__"))
    (handlers / "answer_question").mkdir()
    (handlers / "answer_question" / "app.py").write_text("from backoffice import brand_new_step\n")
    monkeypatch.setattr(layer, "PACKAGE_DIR", package)
    monkeypatch.setattr(layer, "HANDLERS_DIR", handlers)
    monkeypatch.setattr(layer, "_pip_install", lambda target: pytest.fail("dependencies did not change"))

    # When building the layer
    layer.build_shared_layer(build_dir)

    # Then what the new handler reaches is in, with the data beside a shipped module; the module nothing imports
    # and the developer tools are not
    built = build_dir / "python" / "backoffice"
    assert (built / "brand_new_step.py").is_file()
    assert (built / "brand_new_rule.py").read_text() == "ANSWER = 42\n"
    assert (built / "approvals" / "regional_policy.json").is_file()
    assert not (built / "brand_new_capability.py").exists()
    assert not (built / "local").exists()
    assert not (built / "cli").exists()
    assert not (built / "onboarding" / "sample_firm.py").exists()

    # And editing only the module nothing imports leaves the build as it is, while the shipped copy is
    # refreshed as soon as a shipped module changes
    stamp = (build_dir / ".package.sha256").read_text()
    (package / "brand_new_capability.py").write_text("ANSWER = 44\n")
    layer.build_shared_layer(build_dir)
    assert (build_dir / ".package.sha256").read_text() == stamp
    (package / "brand_new_rule.py").write_text("ANSWER = 45\n")
    layer.build_shared_layer(build_dir)
    assert (built / "brand_new_rule.py").read_text() == "ANSWER = 45\n"
