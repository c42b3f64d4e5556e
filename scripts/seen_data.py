"""Rebuild the list of training files a report recognises (``assets/seen_data.tsv``: sizes and SHA-256 prefixes).

    python scripts/seen_data.py ../shared/data/ffpp ../shared/data/ffpp_c40 ../shared/data/faces_utk

(:func:`detector.data.seen.main`; a script, since ``python -m detector.data.seen`` warns that the package had
already imported the module.)
"""

from __future__ import annotations

import sys

from detector.data.seen import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
