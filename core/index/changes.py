"""What a reconcile changed, as entries any front end can word its own way (`main.py watch`
prints symbols, the window sentences): paths are shown relative to their library folder."""

from __future__ import annotations

import os
from dataclasses import dataclass

from core.index.indexer import EmbedReport, ScanReport
from core.store import is_inside, printable

OPS = {"+": "added", "~": "changed", "-": "removed", ">": "moved", "!": "unreadable"}


@dataclass(frozen=True)
class ReportedChange:
    what: str  # added, changed, removed, moved, unreadable, failed (to embed), not checked
    path: str  # printable; relative to its library folder ("not checked": absolute)
    to: str | None = None  # where a moved file went
    reason: str | None = None


def reported_changes(scans: dict[str, ScanReport], embedding: EmbedReport | None,
                     roots: list[str]) -> list[ReportedChange]:
    def shown(path: str) -> str:
        root = next((r for r in roots if path == r or is_inside(path, r)), None)
        return printable(os.path.relpath(path, root) if root else path)

    entries = []
    for scan in scans.values():
        for change in scan.changes:
            entries.append(ReportedChange(OPS.get(change.op, change.op), shown(change.path),
                                          shown(change.to) if change.to else None, change.reason))
        entries += [ReportedChange("not checked", printable(path), reason=error)
                    for path, error in scan.folder_errors]
    entries += [ReportedChange("failed", shown(path), reason=reason)
                for path, reason in (embedding.failed if embedding else [])]
    return entries
