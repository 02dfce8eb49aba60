"""Headless commands: index, search, status, doctor, eval. Each goes through the one door,
`core.library` (and the kind registry); nothing here reaches into the engine's rooms."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from core import cli_folders, cli_search
from core.kinds import KIND_NAMES, normalise_kind
from core.library import (DEMO_LIBRARY_DIR, VERSION, Library, LibraryError, ModelError, QueryError, default_db_path,
                          printable)

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


def _err(message: str) -> None:
    print(message, file=sys.stderr)


def _bar(description: str, unit: str):
    from tqdm import tqdm

    return tqdm(desc=description, unit=unit, file=sys.stderr, dynamic_ncols=True, leave=True,
                disable=None)  # None: no bar when stderr is not a terminal (CI logs stay readable)


def _progress_to(bar):
    def update(done: int, total: int, message: str) -> None:
        if total and bar.total != total:
            bar.total = total
        bar.n = done
        bar.refresh()

    return update


def _open_library(args):
    return Library(args.db, getattr(args, "library_model", None), threads=getattr(args, "threads", None))


def _embedding_shown_on(bar, every: float = 2.0):
    """Progress events to the bar on a terminal; otherwise a plain line every `every` seconds
    (and the last), which logs and pipes can read."""
    import time

    last = [0.0]

    def show(event) -> None:
        left = f", {event.eta:.0f} s left" if event.eta is not None else ""
        if not bar.disable:
            bar.total = event.total
            bar.n = event.done
            bar.set_postfix_str(f"{event.rate:.1f}/s{left}", refresh=True)
            return
        now = time.monotonic()
        if now - last[0] >= every or event.done >= event.total:
            last[0] = now
            _err(f"embedding {event.done}/{event.total} ({event.rate:.1f} items/s{left})")

    return show


def _db_typed_by_user(args) -> bool:
    return args.db is not None and not args.demo


def _open_for_reading(args):
    """The library to search or describe, opened without creating or changing anything; None
    when the default library does not exist yet (nothing was ever indexed)."""
    db = Path(args.db) if args.db else default_db_path()
    if not db.exists() and not _db_typed_by_user(args):
        return None
    try:
        return Library.for_reading(db, getattr(args, "library_model", None))
    except LibraryError as exc:
        raise CommandError(str(exc)) from None


class CommandError(Exception):
    """Ends a command with this message on stderr and exit code 1."""


def _empty_library_hint(args) -> str:
    hint = (f"`python main.py --demo index {DEMO_LIBRARY_DIR}` (or run `python main.py --demo`)"
            if args.demo else "`python main.py index FOLDER`")
    return f"the library is empty: add a folder with {hint}"


# -- index ------------------------------------------------------------------------------------
def cmd_index(args) -> int:
    with _open_library(args) as library:
        try:
            with _bar("scanning", "files") as scan_bar, _bar("embedding", "items") as embed_bar:
                result = library.index(
                    args.paths or None,
                    scan_progress=_progress_to(scan_bar),
                    on_progress=_embedding_shown_on(embed_bar),
                    wait=args.wait,
                )
        except LibraryError as exc:
            _err(f"error: {exc}")
            return EXIT_ERROR
        except KeyboardInterrupt:
            _err("interrupted: what was embedded is saved; run `index` again to resume")
            return EXIT_ERROR
        for note in result.notes:
            print(note)
        if result.reembed:
            print(f"model changed: {result.reembed} items re-embedded")
        for folder, scan in result.scans.items():
            print(f"{printable(folder)}: {scan.seen} files ({scan.new} new, {scan.changed} changed, "
                  f"{scan.moved} moved, {scan.removed} removed, {scan.unchanged} unchanged)")
            for path, error in scan.folder_errors:
                print(f"  not checked: {printable(path)}: {error}")
            if scan.not_checked:
                print(f"  {scan.not_checked} items below folders that could not be checked are kept as they were")
        embedding = result.embedding
        print(f"embedded {embedding.embedded} items, {embedding.metadata_only} indexed without a vector "
              f"(the model has no tower for them) in {embedding.seconds:.1f} s")
        problems = [p for scan in result.scans.values() for p in scan.unreadable] + embedding.failed
        failed_in_all = sum(counts["failed"] for counts in library.status()["items"].values())
        if problems:
            print(f"{len(problems)} files could not be indexed in this run "
                  f"({failed_in_all} in the library in all; `status` lists them):")
            for path, reason in problems:
                print(f"  {printable(path)}: {reason}")
        elif failed_in_all:
            print(f"no new failures; {failed_in_all} files in the library could not be indexed (`status` lists them)")
    return EXIT_OK


# -- search -----------------------------------------------------------------------------------
def _parse_kinds(values: list[str] | None) -> tuple[str, ...]:
    if not values:
        return KIND_NAMES
    kinds: list[str] = []
    for value in values:
        for part in value.split(","):
            kind = normalise_kind(part)
            if kind not in kinds:
                kinds.append(kind)
    return tuple(kinds)


def cmd_search(args) -> int:
    if args.hum:
        return cli_search.cmd_search_hum(args)
    like = args.like or args.file
    if bool(args.text) == bool(like):
        _err("error: give a query or --like PATH (one of them)")
        return EXIT_USAGE
    try:
        kinds = _parse_kinds(args.kind)
    except ValueError as exc:
        _err(f"error: {exc}")
        return EXIT_USAGE
    library = _open_for_reading(args)
    if library is None:
        hits = []
        _err(_empty_library_hint(args))
    else:
        with library:
            filters = {"after": args.after, "before": args.before, "folder": args.folder}
            try:
                if like:
                    hits = library.search_like(like, kinds, args.limit, args.min_score, **filters)
                else:
                    hits = library.search(" ".join(args.text), kinds, args.limit, args.min_score, **filters)
            except (QueryError, ModelError) as exc:  # a bad query, or a damaged calibration.json
                _err(f"error: {exc}")
                return EXIT_ERROR
            if library.status()["total"] == 0:
                _err(_empty_library_hint(args))
    if args.json:
        print(json.dumps([
            {"path": h.item.path, "kind": h.item.kind, "score": round(h.score, 4),
             "relevance": round(h.relevance, 4), "relevant": h.is_relevant,
             "similarity": round(h.similarity, 4), "found_by": list(h.channels), "matched": list(h.matched),
             "snippet": h.snippet, "passage": h.passage, "at_seconds": h.at_seconds} for h in hits
        ], indent=2))
        return EXIT_OK
    if not hits:
        print("no results")
    for rank, hit in enumerate(hits, start=1):
        print(f"{rank:3d}. {hit.relevance:4.0%}  {hit.item.kind:<5}  {printable(hit.item.path)}")
        print(f"{'':12}{_why(hit)}")
    return EXIT_OK


def _why(hit, width: int = 72) -> str:
    """One short line: what found the hit (a weaker match says so), and the words it matched in
    their passage."""
    line = ("weaker match, " if not hit.is_relevant else "") + " + ".join(hit.channels) + (f", from {int(hit.at_seconds) // 60}:{int(hit.at_seconds) % 60:02d}"
                                        if hit.at_seconds is not None else "")
    if hit.passage and not hit.matched:
        line += f": “{' '.join(hit.passage.split())}”"
    if hit.matched:
        line += ": " + ", ".join(hit.matched)
        if hit.snippet:
            line += f" ({hit.snippet})"
    return line if len(line) <= width else line[:width - 1] + "…"


# -- status -----------------------------------------------------------------------------------
def cmd_status(args) -> int:
    library = _open_for_reading(args)
    if library is None:
        db = args.db or default_db_path()
        if args.json:
            print(json.dumps({"database": str(db), "exists": False}, indent=2))
        else:
            print(f"database: {db} (not created yet)\n{_empty_library_hint(args)}")
        return EXIT_OK
    with library:
        status = library.status()
    if args.json:
        print(json.dumps(status, indent=2))
        return EXIT_OK
    print(f"database: {status['database']}{' (read-only)' if status['read_only'] else ''}")
    print(f"model:    {status['model'] or '(nothing indexed yet)'}")
    print(f"folders:  {', '.join(map(printable, status['folders'])) or '(none: add one with `index FOLDER`)'}")
    for kind, counts in status["items"].items():
        print(f"  {kind:<5} done {counts['done']:6d}  pending {counts['pending']:6d}  "
              f"failed {counts['failed']:6d}  with vector {counts['vectors']:6d}")
    if status.get("not_taken"):
        print("files of types the app does not take (left out, by type):")
        for folder, counts in status["not_taken"].items():
            shown = ", ".join(f"{n} {extension}" for extension, n in list(counts.items())[:8])
            rest = sum(list(counts.values())[8:])
            print(f"  {printable(folder)}: {shown}{f', and {rest} more' if rest else ''}")
    if status["not_checked"]:
        print("folders not checked (their items are kept as they were):")
        for problem in status["not_checked"]:
            print(f"  {printable(problem['folder'])}: {problem['reason']} ({problem['items_kept']} items kept)")
    if status["failed"]:
        print("failed files:")
        for path, error in status["failed"]:
            print(f"  {printable(path)}: {error}")
    if status["warnings"]:
        print("indexed with a warning:")
        for path, warning in status["warnings"]:
            print(f"  {printable(path)}: {warning}")
    return EXIT_OK


# -- doctor -----------------------------------------------------------------------------------
def cmd_doctor(args) -> int:
    from core.library import installation_checks

    checks = installation_checks(args.db)
    for check in checks:
        print(f"[{'ok' if check.ok else '!!'}] {check.name:<12} {check.detail}")
        if check.fix:
            print(f"     {'':<12} fix: {check.fix}")
    essential = {"python", "sqlite-vec", "model", "offline"}
    return EXIT_OK if all(c.ok for c in checks if c.name in essential) else EXIT_ERROR


# -- eval -------------------------------------------------------------------------------------
def _format_results(results: list) -> str:
    directions = []
    for result in results:
        for direction in list(result.results) + list(result.unavailable):
            if direction not in directions:
                directions.append(direction)
    lines = []
    header = f"{'direction':<15}" + "".join(f"  {r.model[:34]:>34}" for r in results)
    lines.append(header)
    lines.append(f"{'':<15}" + "".join(f"  {'n  skip   R@1   R@5  R@10':>34}" for _ in results))
    for direction in directions:
        row = f"{direction:<15}"
        for r in results:
            score = r.results.get(direction)
            if score is None:
                row += f"  {'unavailable':>34}"
            else:
                cell = (f"{score.n:4d} {score.skipped:4d} {score.recall[1]:5.3f} "
                        f"{score.recall[5]:5.3f} {score.recall[10]:5.3f}")
                row += f"  {cell:>34}"
        lines.append(row)
    for r in results:
        for direction, reason in r.unavailable.items():
            lines.append(f"{r.model}: {direction} unavailable: {reason}")
        for path in r.unreadable:
            lines.append(f"{r.model}: unreadable, skipped: {path}")
    return "\n".join(lines)


def cmd_eval(args) -> int:
    from core.library import evaluate_manifest

    try:
        results = evaluate_manifest(args.manifest, args.model, progress=lambda message: _err(f"  {message}"))
    except (ValueError, ModelError) as exc:  # a bad manifest (ManifestError) or model folder
        _err(f"error: {exc}")
        return EXIT_ERROR
    if args.json:
        payloads = [r.as_dict() for r in results]
        print(json.dumps(payloads[0] if len(payloads) == 1 else payloads, indent=2))
    else:
        print(_format_results(results))
    return EXIT_OK


# -- parser -----------------------------------------------------------------------------------
QUERY_HELP = """query grammar: terms joined by + and - (with spaces around them), each optionally
weighted as WEIGHT:TERM; a term is text ("quoted" or bare), or a photo, recording or note given by
its path (or file:PATH). The query is the normalised weighted sum of the terms.
examples:
  main.py search a cat sitting on a mat
  main.py search '"beach" + sunset.jpg - people'
  main.py search '2:"dog" + "snow"'
  main.py search --like photos/cat.jpg --kind image
  main.py search --after 2020-01-01 --before 2021-06-30 --folder ~/Pictures/2020 birthday"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="main.py",
        description="Trimodal-Bind: find photos, recordings and notes from anything else, offline. "
        "With no command, opens the desktop app.",
    )
    parser.add_argument("--db", help=f"library database (default: {default_db_path()})")
    parser.add_argument("--demo", action="store_true",
                        help=f"use the bundled demo library ({DEMO_LIBRARY_DIR}) with its own database")
    parser.add_argument("--version", action="version", version=f"Trimodal-Bind {VERSION}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    index = commands.add_parser("index", help="add folders and index them (one-shot scan); no PATH re-scans all")
    index.add_argument("paths", nargs="*", metavar="PATH")
    index.add_argument("--wait", action="store_true",
                       help="if another indexer is working on this library, wait for it instead of stopping")
    index.add_argument("--threads", type=cli_folders.positive_int, metavar="N",
                       help="cores to use (readers and the model; default: all)")
    index.set_defaults(func=cmd_index)

    forget = commands.add_parser("forget", help="remove a folder from the library (files stay on disk); "
                                 "the same as `folders remove`")
    forget.add_argument("path", metavar="PATH")
    forget.set_defaults(func=cli_folders.cmd_folders_remove)
    cli_folders.add_commands(commands)  # folders add|remove|list, watch
    cli_search.add_commands(commands)  # duplicates

    search = commands.add_parser(
        "search", help="search the library by text, files, or a combination of them",
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=QUERY_HELP)
    search.add_argument("text", nargs="*", metavar="QUERY", help="what to look for (see the grammar below)")
    search.add_argument("--like", metavar="PATH", help="more like this item or file (it is left out)")
    search.add_argument("--file", help=argparse.SUPPRESS)  # the earlier name of --like
    search.add_argument("--hum", metavar="FILE", help="find the recordings of the tune hummed, sung or whistled in FILE")
    search.add_argument("--kind", action="append", help="image, audio or text (repeat or comma-separate)")
    search.add_argument("--after", metavar="YYYY-MM-DD", help="only items from this day on (photo date, else file date)")
    search.add_argument("--before", metavar="YYYY-MM-DD", help="only items up to this day (included)")
    search.add_argument("--folder", metavar="PATH", help="only items in this library folder or a folder below one")
    search.add_argument("--limit", type=cli_folders.positive_int, default=10, help="how many results (default 10)")
    search.add_argument("--min-score", type=float, default=None,
                        help="hide results below this calibrated score: the log-odds of relevance, 0 = as likely "
                             "relevant as not (the window's line), 2 = clearly related")
    search.add_argument("--json", action="store_true")
    search.set_defaults(func=cmd_search)

    status = commands.add_parser("status", help="what is indexed, pending and failed")
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=cmd_status)

    doctor = commands.add_parser("doctor", help="check the installation, with a fix for each problem")
    doctor.set_defaults(func=cmd_doctor)

    evaluate = commands.add_parser("eval", help="Recall@K of a model on a JSONL manifest")
    evaluate.add_argument("manifest")
    evaluate.add_argument("--model", action="append", metavar="DIR",
                          help="model folder to evaluate (repeat to compare models side by side)")
    evaluate.add_argument("--json", action="store_true")
    evaluate.set_defaults(func=cmd_eval)
    return parser


def main_with_args(argv: list[str]) -> int:
    """Run one sub-command in-process (used by the headless demo)."""
    args = build_parser().parse_args(argv)
    return args.func(args)
