"""Headless commands for the library's folders and for following them: `folders add|remove|list`
and `watch`. Like core/cli.py, they go through the one door (core.library) only."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading

from core.library import IndexResult, Library, LibraryError, printable, reported_changes

EXIT_OK, EXIT_ERROR = 0, 1
MOST_LINES = 50  # per reconcile; a first pass over a big folder is summed up, not listed


def _say(message: str = "") -> None:
    print(message, flush=True)  # a line at a time, also into a pipe


def _err(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _library(args) -> Library:
    return Library(args.db, getattr(args, "library_model", None), threads=getattr(args, "threads", None))


# -- folders ----------------------------------------------------------------------------------
def cmd_folders_add(args) -> int:
    include = args.include if args.include or args.exclude else None
    exclude = args.exclude if args.include or args.exclude else None
    with _library(args) as library:
        try:
            known = set(library.folders())
            folder, note = library.add_folder(args.path, include, exclude)
        except LibraryError as exc:
            _err(f"error: {exc}")
            return EXIT_ERROR
        _say(note or (f"{printable(folder)}: patterns updated" if folder in known and include is not None
                      else f"{printable(folder)}: {'already a library folder' if folder in known else 'added'}"))
        if args.no_index:
            _say("not indexed yet: run `index` or `watch`")
            return EXIT_OK
        try:
            result = library.index([folder])
        except LibraryError as exc:  # IndexerBusy: a running `watch` or `index` picks the folder up
            _say(f"recorded, not indexed now: {exc}")
            return EXIT_OK
        for scan in result.scans.values():
            _say(f"{printable(folder)}: {scan.seen} files ({scan.new} new, {scan.changed} changed, "
                 f"{scan.moved} moved, {scan.removed} removed, {scan.unchanged} unchanged)")
        _say(f"embedded {result.embedding.embedded} items in {result.embedding.seconds:.1f} s"
             + (f"; {len(result.embedding.failed)} could not be indexed (`status` lists them)"
                if result.embedding.failed else ""))
    return EXIT_OK


def cmd_folders_remove(args) -> int:
    with _library(args) as library:
        try:
            forgotten = library.forget_folder(args.path)
        except LibraryError as exc:
            _err(f"error: {exc}")
            return EXIT_ERROR
    _say(f"removed {printable(os.path.abspath(args.path))} from the library ({forgotten} items); "
         "the files themselves were not touched")
    return EXIT_OK


def cmd_folders_list(args) -> int:
    with _library(args) as library:
        details = library.folder_details()
    if args.json:
        print(json.dumps([{"path": d.path, "include": list(d.include), "exclude": list(d.exclude),
                           "items": d.items, "state": d.state} for d in details], indent=2))
        return EXIT_OK
    if not details:
        _say("no library folders yet: add one with `folders add PATH`")
    for d in details:
        _say(f"{printable(d.path)}: {d.items['done']} done, {d.items['pending']} pending, "
             f"{d.items['failed']} failed; {d.state}")
        for label, patterns in (("include", d.include), ("exclude", d.exclude)):
            if patterns:
                _say(f"  {label}: {' '.join(patterns)}")
    return EXIT_OK


# -- watch ------------------------------------------------------------------------------------
SYMBOLS = {"added": "+", "changed": "~", "removed": "-", "moved": ">", "unreadable": "!", "failed": "!"}


def _change_lines(library: Library, result: IndexResult) -> list[str]:
    lines = []
    for entry in reported_changes(result.scans, result.embedding, library.folders()):
        if entry.what == "not checked":
            lines.append(f"  not checked: {entry.path}: {entry.reason}")
        elif entry.what == "moved":
            lines.append(f"> {entry.path} → {entry.to}")
        elif entry.reason:
            lines.append(f"! {entry.path}: {entry.reason}")
        else:
            lines.append(f"{SYMBOLS[entry.what]} {entry.path}")
    return lines


def cmd_watch(args) -> int:
    stop = threading.Event()
    signals: list[str] = []

    def on_signal(signum, frame) -> None:
        signals.append(signal.Signals(signum).name)
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        with _library(args) as library:
            if not library.folders():
                _err("error: the library has no folders to watch: add one with `folders add PATH`")
                return EXIT_ERROR

            started: list[bool] = []

            def on_change(result: IndexResult) -> None:
                lines = _change_lines(library, result)
                for line in lines[:MOST_LINES]:
                    _say(line)
                if len(lines) > MOST_LINES:
                    _say(f"… and {len(lines) - MOST_LINES} more changes")
                if not started:  # the start-up reconcile
                    started.append(True)
                    items = sum(sum(d.items.values()) for d in library.folder_details())
                    _say(f"up to date ({items} items); following changes")

            _say(f"watching {len(library.folders())} library folder(s) of {printable(str(library.db_path))}; "
                 "Ctrl-C stops")
            library.watch(on_change, _say, stop.is_set, settle=args.settle, poll_every=args.poll)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    _say(f"stopped watching ({signals[0] if signals else 'done'}): every change seen is saved; "
         "what was not embedded yet stays pending for the next `watch` or `index`")
    return EXIT_OK


# -- parser -----------------------------------------------------------------------------------
def positive_int(text: str) -> int:
    """A count given on the command line (threads, results): a whole number from 1 up."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 (got {value})")
    return value


def _seconds(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise ValueError(text)
    return value


def add_commands(commands) -> None:
    folders = commands.add_parser("folders", help="add, remove and list library folders")
    actions = folders.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = actions.add_parser("add", help="add a folder (and index it); patterns leave files in or out")
    add.add_argument("path", metavar="PATH")
    add.add_argument("--include", action="append", default=[], metavar="PAT",
                     help="only files matching this shell pattern (name, or path below the folder with a /)")
    add.add_argument("--exclude", action="append", default=[], metavar="PAT",
                     help="leave out files and folders matching this pattern (repeat for more)")
    add.add_argument("--no-index", action="store_true", help="only record the folder")
    add.set_defaults(func=cmd_folders_add)
    remove = actions.add_parser("remove", help="remove a folder from the library (files stay on disk)")
    remove.add_argument("path", metavar="PATH")
    remove.set_defaults(func=cmd_folders_remove)
    listing = actions.add_parser("list", help="library folders with their item counts, state and patterns")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=cmd_folders_list)

    watch = commands.add_parser("watch", help="follow the library folders as they change, until Ctrl-C")
    watch.add_argument("--settle", type=_seconds, default=1.0, metavar="S",
                       help="reconcile a change once it has settled this long (default 1 s)")
    watch.add_argument("--poll", type=_seconds, default=60.0, metavar="S",
                       help="check folders the system cannot watch every S seconds (default 60)")
    watch.add_argument("--threads", type=positive_int, metavar="N",
                       help="cores to use while indexing changes (default: all)")
    watch.set_defaults(func=cmd_watch)
