"""The two install lists agree: requirements.txt (what a Hugging Face Space installs, before the repository is
copied in, so it cannot say ".[app]") holds exactly the pins of pyproject.toml's dependencies and app extra."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _pins(lines) -> set[str]:
    return {line.split("#")[0].strip() for line in lines if line.split("#")[0].strip()}


def test_requirements_txt_pins_what_pyproject_pins_for_the_app():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = _pins(project["dependencies"] + project["optional-dependencies"]["app"])
    listed = _pins((ROOT / "requirements.txt").read_text().splitlines())
    assert listed == wanted, f"only in requirements.txt: {listed - wanted}; only in pyproject: {wanted - listed}"
    assert all("==" in pin for pin in listed)  # exact pins, as verified together
    assert not any(pin.startswith((".", "-e")) for pin in listed)  # a Space has no checkout at install time
