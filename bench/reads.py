"""How many times indexing opens each media file: `index` of a copy of the demo library under
strace, counting successful opens of each file.

Run by hand (needs strace): `python bench/reads.py [FOLDER]`. Prints opens per file by extension.
"""

from __future__ import annotations

import collections
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "resources" / "demo"
    with tempfile.TemporaryDirectory() as work:
        library = Path(work) / "library"
        shutil.copytree(source, library)
        log = Path(work) / "opens.txt"
        subprocess.run(["strace", "-f", "-e", "trace=openat", "-o", str(log), sys.executable,
                        str(REPO / "main.py"), "--db", str(Path(work) / "lib.db"), "index", str(library)],
                       check=True, capture_output=True)
        opens: collections.Counter = collections.Counter()
        pattern = re.compile(r'openat\(AT_FDCWD, "(' + re.escape(str(library)) + r'/[^"]+)"')
        for line in log.read_text().splitlines():
            found = pattern.search(line)
            if found and "= -1" not in line and Path(found.group(1)).suffix:
                opens[found.group(1)] += 1
    by_extension = collections.defaultdict(list)
    for path, count in opens.items():
        by_extension[Path(path).suffix].append(count)
    for extension, counts in sorted(by_extension.items()):
        print(f"{extension:<16} files {len(counts):3d}  opens per file: {sorted(set(counts))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
