"""`make bench`: run every benchmark (today the knowledge-base retrieval one), passing the arguments through.

    .venv/bin/python benchmarks/run_all.py [--quick] [--sizes 1,10,100] [--markdown PATH]
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    return subprocess.run([sys.executable, str(HERE / "qa_benchmark.py"), *sys.argv[1:]]).returncode


if __name__ == "__main__":
    sys.exit(main())
