"""`make bench`: run every benchmark in BENCHMARKS, one after the other.

    .venv/bin/python benchmarks/run_all.py [--quick] [--sizes 1,10,100] [--markdown PATH]

The knowledge-base retrieval benchmark gets every argument, as before; the others only --quick (their own options
are for running them alone).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

# (script, the arguments of run_all.py it takes: None for all of them)
BENCHMARKS = [
    ("qa_benchmark.py", None),
    ("update_cost.py", {"--quick"}),
]


def main() -> int:
    worst = 0
    for script, accepted in BENCHMARKS:
        arguments = sys.argv[1:] if accepted is None else [a for a in sys.argv[1:] if a in accepted]
        print(f"== {script} {' '.join(arguments)}", flush=True)
        worst = max(worst, subprocess.run([sys.executable, str(HERE / script), *arguments], check=False).returncode)
    return worst


if __name__ == "__main__":
    sys.exit(main())
