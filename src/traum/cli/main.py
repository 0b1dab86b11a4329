"""The ``traum`` command and its error boundary.

Known errors (:class:`~traum.errors.TraumError`) become one line and their ``exit_code``; exit codes are
grep's: 0 when everything asked for succeeded, 1 when some input failed (the rest still done and
reported), 2 for a usage or configuration error. Anything else is a bug: one line pointing at the log
file, which has the traceback.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

INTERRUPTED = "interrupted; everything committed so far is kept — run the same command again to continue"


def _interrupted() -> NoReturn:
    """One line and exit 130, however deep the Ctrl+C landed."""
    sys.stderr.write(f"error: {INTERRUPTED}\n")
    # CPython (3.11) marks a KeyboardInterrupt that leaves code run by exec() of a string — dataclasses and
    # namedtuple build their methods so, torch's import makes hundreds — as unhandled even when it is caught
    # later, and then ends the interpreter by SIGINT after this line (exit -2). An exec() that finishes clears
    # the mark.
    exec("")
    sys.exit(130)


try:  # Ctrl+C while Python loads the CLI (typer, rich: up to seconds on a busy machine) is one line too
    import typer
    from typer.core import TyperGroup

    from traum.cli.analyze import analyze
    from traum.cli.catalog import catalog
    from traum.cli.collection import collection
    from traum.cli.duplicates import duplicates
    from traum.cli.embed import embed
    from traum.cli.export import export
    from traum.cli.index import index
    from traum.cli.kit import kit
    from traum.cli.model import model_app
    from traum.cli.plugins import plugins
    from traum.cli.search import search, similar
    from traum.cli.serve import serve
    from traum.cli.status import status
except KeyboardInterrupt:
    _interrupted()

#: The options of ``traum`` itself, which a producer also types after the command (``traum index … -v``).
LOGGING_FLAGS = frozenset({"-v", "-vv", "-vvv", "--verbose", "-q", "--quiet", "--log-json"})


def hoist_logging_flags(args: list[str]) -> list[str]:
    """Move the logging flags found anywhere before ``--`` to the front, where click reads ``traum``'s own
    options; after ``--`` everything is an argument (``traum search -- -v``)."""
    end = args.index("--") if "--" in args else len(args)
    head = args[:end]
    return [a for a in head if a in LOGGING_FLAGS] + [a for a in head if a not in LOGGING_FLAGS] + args[end:]


class _TraumGroup(TyperGroup):
    # click hands every argument after the command name to the command, which does not know these flags;
    # no command takes a -v, -q or --log-json of its own, so they can only mean traum's.
    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        return super().parse_args(ctx, hoist_logging_flags(list(args)))


app = typer.Typer(name="traum", cls=_TraumGroup, no_args_is_help=True, add_completion=False,
                  pretty_exceptions_enable=False,
                  help="Find sounds in your own sample library by description, by example and by musical facts.")


@app.callback()
def _options(
    verbose: Annotated[int, typer.Option("-v", "--verbose", count=True,
                                         help="More log lines on the terminal (-vv: debug); before or "
                                         "after the command.")] = 0,
    quiet: Annotated[bool, typer.Option("-q", "--quiet", help="Only errors on the terminal.")] = False,
    log_json: Annotated[bool, typer.Option("--log-json", help="Logs as JSON lines (terminal and log file).")] = False,
) -> None:
    """Find sounds in your own sample library by description, by example and by musical facts."""
    if verbose or quiet or log_json:
        from traum.logs import setup_logging

        setup_logging(-1 if quiet else verbose, json_lines=log_json)


for command in (index, search, similar, analyze, duplicates, embed, status, export, serve, plugins):
    app.command()(command)
for group in (catalog, collection, kit, model_app):
    app.add_typer(group)

log = logging.getLogger("traum")


def main(argv: list[str] | None = None) -> None:
    """Run ``traum`` with ``argv`` (default: the command line); always ends in ``SystemExit``."""
    from traum.errors import TraumError

    try:
        log_file = _start()
    except KeyboardInterrupt:
        _interrupted()
    try:
        _plugin_commands()
        code = app(args=argv, prog_name="traum", standalone_mode=False)
        if code == 130:  # Typer turns Ctrl+C into a silent Exit(130) when not standalone
            raise KeyboardInterrupt
    except KeyboardInterrupt:
        _interrupted()
    except Exception as err:
        if type(err).__name__ == "Abort" or _caused_by_interrupt(err):
            _interrupted()
        if isinstance(err, TraumError):
            log.info("error: %s", err)
            _fail(_one_line(str(err)), err.exit_code)
        if _is_usage_error(err):
            _usage(err)
        log.exception("unexpected error", extra={"console": False})
        _fail(f"unexpected {type(err).__name__}: {err} (details in {log_file})", 1)
    sys.exit(code if isinstance(code, int) else 0)


def _start() -> Path | None:
    """Settings checked and logging set up; returns the log file's path."""
    from traum import settings
    from traum.errors import TraumError
    from traum.logs import setup_logging

    try:
        settings.validate()
    except TraumError as err:
        _fail(str(err), err.exit_code)
    return setup_logging()


def _caused_by_interrupt(err: BaseException) -> bool:
    """A Ctrl+C inside an import that a library turned into its own error (transformers' lazy modules
    report "could not import module …")."""
    seen: set[int] = set()
    cause: BaseException | None = err
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, KeyboardInterrupt):
            return True
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return False


def _plugin_commands() -> None:
    """Commands from plugins (``register_commands``); a broken plugin is logged and left out."""
    if not getattr(app, "_traum_plugin_commands", False):
        from traum.plugins import register_commands

        register_commands(app)
        app._traum_plugin_commands = True  # type: ignore[attr-defined]


def _is_usage_error(err: Exception) -> bool:
    # Typer raises its own vendored click's exceptions, so match by behaviour, not by class.
    return hasattr(err, "format_message") and hasattr(err, "exit_code")


def _usage(err: Any) -> None:
    message = err.format_message()
    if not message:  # a bare `traum`: the help was printed already
        sys.exit(0)
    ctx = getattr(err, "ctx", None)
    hint = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
    _fail(f"{message}{hint}", err.exit_code)


def _one_line(message: str) -> str:
    from traum.cli.console import display

    return " ".join(display(message).splitlines()) or "failed"


def _fail(message: str, code: int) -> NoReturn:
    sys.stderr.write(f"error: {message}\n")
    sys.exit(code)


if __name__ == "__main__":
    main()
