"""Strip the symbol tables from the built app's shared libraries, only where that is safe.

    python installer/strip_libs.py dist/trimodal-bind        (installer/build.sh runs it)

PyInstaller's own `strip=True` strips every library, and that broke numpy's OpenBLAS ("ELF load
command address/offset not page-aligned"): auditwheel rewrites a wheel's libraries with patchelf,
and GNU strip lays a patched file out again wrongly. So a library is left alone when
- it lies in a `<package>.libs/` folder (auditwheel's grafted libraries), or
- its RPATH/RUNPATH names a `.libs` folder (an extension module auditwheel patched to find them), or
- it has no symbol table (already stripped: nothing to gain), or
- the stripped copy fails the loader's check that every PT_LOAD segment's file offset and address
  agree modulo the page size, and its alignment is a multiple of it (ld.so's checks, the ones
  behind the error above); the original is then kept. This catches the patched files the first two
  rules miss (numba's omppool/tbbpool extensions, when the app still bundled numba: patchelf had
  renamed their libgomp/libtbb and left no RPATH).
Only `--strip-unneeded` (the symbols no relocation needs), the same as the distributions do.
Prints what it stripped and the MiB saved.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

PAGE = 4096  # x86_64; ld.so checks against the running system's page size


def _readelf(*args: str) -> str:
    return subprocess.run(["readelf", "-W", *args], capture_output=True, text=True).stdout


def is_elf(path: Path) -> bool:
    with open(path, "rb") as stream:
        return stream.read(4) == b"\x7fELF"


def why_not(path: Path) -> str | None:
    """The reason to leave `path` alone, or None to strip it."""
    if any(part.endswith(".libs") for part in path.parts[:-1]):
        return "auditwheel .libs folder"
    if re.search(r"R(UN)?PATH\).*\.libs", _readelf("-d", str(path))):
        return "auditwheel-patched RPATH"
    if " .symtab " not in _readelf("-S", str(path)):
        return "already stripped"
    return None


def loads_aligned(path: Path) -> bool:
    """ld.so's checks on every PT_LOAD: (vaddr - offset) and align are multiples of the page size."""
    loads = [line.split() for line in _readelf("-l", str(path)).splitlines() if line.strip().startswith("LOAD ")]
    if not loads:
        return False
    for fields in loads:  # LOAD Offset VirtAddr PhysAddr FileSiz MemSiz Flg... Align
        offset, vaddr, align = int(fields[1], 16), int(fields[2], 16), int(fields[-1], 16)
        if (vaddr - offset) % PAGE or align % PAGE:
            return False
    return True


def main(app: Path) -> int:
    if shutil.which("strip") is None or shutil.which("readelf") is None:
        print("strip_libs: binutils (strip, readelf) not found; nothing stripped", file=sys.stderr)
        return 0
    saved = 0
    for path in sorted(app.rglob("*.so*")):
        if not path.is_file() or path.is_symlink() or not is_elf(path):
            continue
        if why_not(path) is not None:
            continue
        before = path.stat().st_size
        stripped = path.with_name(path.name + ".stripping")
        result = subprocess.run(["strip", "--strip-unneeded", "-o", str(stripped), str(path)],
                                capture_output=True, text=True)
        if result.returncode != 0 or not loads_aligned(stripped):
            stripped.unlink(missing_ok=True)
            print(f"strip_libs: kept {path.relative_to(app)} (strip failed or misaligned)", file=sys.stderr)
            continue
        shutil.copymode(path, stripped)
        os.replace(stripped, path)
        after = path.stat().st_size
        saved += before - after
        if before - after >= 1 << 20:
            print(f"  {(before - after) / 2**20:6.1f} MiB  {path.relative_to(app)}")
    print(f"strip_libs: {saved / 2**20:.1f} MiB saved")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "dist/trimodal-bind")))
