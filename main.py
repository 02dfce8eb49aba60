"""Trimodal-Bind entry point: the desktop app by default, headless sub-commands otherwise."""

from __future__ import annotations

import os
import sys


def _has_display() -> bool:
    if os.environ.get("QT_QPA_PLATFORM"):
        return True
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def _headless_demo(db: str) -> int:
    """No screen: say so, index the demo library so the headless commands have data, show them."""
    from core.library import DEMO_LIBRARY_DIR

    print("No display found (DISPLAY and WAYLAND_DISPLAY are unset), so the window cannot open.")
    print("Indexing the demo library for the headless commands instead…\n")
    from core import cli

    cli.main_with_args(["--db", db, "index", str(DEMO_LIBRARY_DIR)])
    prefix = f"{sys.executable} main.py --demo"
    print("\nTry, in this folder:")
    print(f"  {prefix} search \"a cat\"")
    print(f"  {prefix} search --kind image \"coffee\"")
    print(f"  {prefix} search --like {DEMO_LIBRARY_DIR / 'notes' / 'our_cat.md'}")
    print(f"  {prefix} search '\"a cat\" + \"a drawing\"'")
    print(f"  {prefix} status")
    print(f"  {sys.executable} main.py doctor")
    print("Or run on a desktop session to get the window.")
    return 0


def main(argv: list[str] | None = None) -> int:
    from core import cli
    from core.library import demo_db_path

    parser = cli.build_parser()
    args = parser.parse_args(argv)
    if args.demo and not args.db:
        args.db = str(demo_db_path())
    if args.command is None:
        if not _has_display():
            if args.demo:
                return _headless_demo(args.db)
            print("No display found (DISPLAY and WAYLAND_DISPLAY are unset), so the window cannot open.\n"
                  "Use the headless commands instead:\n")
            parser.print_help()
            return 0
        from app.main import run_app

        return run_app(db_path=args.db, demo=args.demo)
    from core.library import SchemaTooNew, database_errors, explain_database_error

    try:
        return args.func(args)
    except database_errors() as exc:
        db = args.db or cli.default_db_path()
        print(f"error: {explain_database_error(exc, db)}", file=sys.stderr)
        return cli.EXIT_ERROR
    except (SchemaTooNew, cli.CommandError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return cli.EXIT_ERROR
    except BrokenPipeError:
        # The reader went away (`search … | head`): not an error of ours. Point stdout at
        # /dev/null so the interpreter's final flush does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return cli.EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
