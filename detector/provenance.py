"""Which deepfake-lens made a result: the package's version and a fingerprint of the code that makes reports.

software_version()   "0.2.0+rules.1a2b3c4d5e": on every report (``software``), every ``scan --jsonl`` line
                     (``version``: a resumed scan tells results made by other code apart) and ``--version``
rules_fingerprint()  the "1a2b3c4d5e": a hash of the code that decides what a report says (REPORT_CODE)
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

__all__ = ["REPORT_CODE", "rules_fingerprint", "software_version"]


# the code that makes a report from an input (frames, faces, scores, verdict rules, warnings, CAM), relative to the
# folder holding the ``detector`` and ``explain`` packages: its fingerprint is part of a line's version, so a change
# of the verdict rules is told apart from the same package version (0.2.0 made both sides of a rule change)
REPORT_CODE = (
    "detector/constants.py",
    "detector/inference/*.py",
    "detector/models/*.py",
    "detector/data/seen.py",  # the "a file the model trained on" warning, and the list it reads
    "detector/data/datasets.py",
    "explain/*.py",
)  # and the list of training files the seen warning reads, wherever the install put the assets (added below)
NOT_REPORT_CODE = frozenset({"detector/inference/batch.py", "detector/inference/ray_engine.py"})  # how, not what


@functools.lru_cache(maxsize=1)
def rules_fingerprint() -> str:
    """10 hex digits of a hash of :data:`REPORT_CODE`'s files (their names and bytes, line endings as in a
    checkout on Linux): changes whenever the code that makes a report changes (a comment included), whatever the
    package version says; "unknown" where those files cannot be read (an install without its sources)."""
    from detector.constants import SHIPPED_MODELS

    root = Path(__file__).resolve().parents[1]
    files = [(f.relative_to(root).as_posix(), f) for pattern in REPORT_CODE for f in sorted(root.glob(pattern))]
    files = [(name, f) for name, f in files if name not in NOT_REPORT_CODE]
    if not files:
        return "unknown"
    seen_list = SHIPPED_MODELS.parent / "seen_data.tsv"  # assets/ in a checkout, detector/assets/ in a wheel
    files += [("seen_data.tsv", seen_list)] if seen_list.is_file() else []
    digest = hashlib.sha256()
    try:
        for name, f in files:
            digest.update(name.encode() + b"\0" + f.read_bytes().replace(b"\r\n", b"\n") + b"\0")
    except OSError:
        return "unknown"
    return digest.hexdigest()[:10]


def software_version() -> str:
    """This deepfake-lens's version (the installed package's, or "unknown" where it is not installed) and the
    fingerprint of the code that makes its reports (:func:`rules_fingerprint`): ``0.2.0+rules.0123456789``."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        package = version("deepfake-lens")
    except PackageNotFoundError:
        package = "unknown"
    return f"{package}+rules.{rules_fingerprint()}"
