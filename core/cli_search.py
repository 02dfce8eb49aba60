"""Headless search commands beside core/cli.py's: `duplicates` (what the library holds twice) and
`search --hum FILE` (by a tune). Like core/cli.py, they go through the one door (core.library) only."""

from __future__ import annotations

import json
import sys

from core.library import Library, LibraryError, QueryError, default_db_path, printable

EXIT_OK, EXIT_ERROR = 0, 1
REASONS = {"identical": "identical files", "near": "copies of one photo (re-encoded, resized or cropped)"}


def _library(args) -> Library | None:
    """The library to read, or None after saying why it cannot be opened."""
    try:
        return Library.for_reading(args.db or default_db_path(), getattr(args, "library_model", None))
    except LibraryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None


def cmd_duplicates(args) -> int:
    library = _library(args)
    if library is None:
        return EXIT_ERROR
    with library:
        groups = library.duplicates()
    if args.json:
        print(json.dumps([{"reason": group.reason, "paths": [printable(item.path) for item in group.items]}
                          for group in groups], indent=2))
        return EXIT_OK
    if not groups:
        print("no duplicates: no two files are the same, and no photo is a copy of another")
        return EXIT_OK
    for number, group in enumerate(groups, 1):
        print(f"group {number}: {REASONS.get(group.reason, group.reason)}")
        for place, item in enumerate(group.items):
            size = f"{item.size / 1e6:.1f} MB" if item.size else "size unknown"
            print(f"  {'keep' if place == 0 else 'copy'}  {printable(item.path)}  ({size})")
    print(f"{len(groups)} group{'s' if len(groups) != 1 else ''}; nothing was changed or deleted")
    return EXIT_OK


def cmd_search_hum(args) -> int:
    """`search --hum FILE`: recordings of the tune in FILE, where it starts, and what came with them."""
    if args.text or args.like or args.file:
        print("error: --hum searches by the tune alone: leave out the query and --like", file=sys.stderr)
        return 2
    library = _library(args)
    if library is None:
        return EXIT_ERROR
    with library:
        try:
            hits = library.search_hum(args.hum, limit=args.limit, min_score=args.min_score,
                                      after=args.after, before=args.before, folder=args.folder)
        except QueryError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_ERROR
    if args.json:
        print(json.dumps([{"path": printable(h.item.path), "score": round(h.score, 4), "at_seconds": round(h.at_seconds, 1),
                           "with": [printable(c.path) for c in h.companions]} for h in hits], indent=2))
        return EXIT_OK
    if not hits:
        print("no recording of this tune (recordings get their melody after they are embedded: see status)")
    for rank, hit in enumerate(hits, start=1):
        minutes, seconds = divmod(int(hit.at_seconds), 60)
        print(f"{rank:3d}. {hit.score:5.2f}  {printable(hit.item.path)}  from {minutes}:{seconds:02d}")
        for companion in hit.companions:
            print(f"{'':12}with this recording: {printable(companion.path)}")
    return EXIT_OK


def add_commands(commands) -> None:
    duplicates = commands.add_parser(
        "duplicates", help="files that are the same, and photos that are copies of one another (kept apart "
                           "from similar items)")
    duplicates.add_argument("--json", action="store_true")
    duplicates.set_defaults(func=cmd_duplicates)
