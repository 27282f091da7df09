"""Console-script entry point: runs the app and maps errors to exit codes.

User errors print one line (plus a hint) on stderr; unexpected exceptions print one line
asking for ``--debug``, which shows the traceback. Secrets are redacted from both.
"""

from __future__ import annotations

import sys
from typing import Any, NoReturn

from imagetrust.errors import EXIT_FAILURE, ImagetrustError


def main(argv: list[str] | None = None) -> int:
    import os

    # Pydantic looks for third-party plugins in every installed distribution's entry points
    # on first use (~20 ms); imagetrust uses none, so a command need not pay for the search.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    # Typer vendors Click (0.26+): these are the classes its parser raises.
    from typer._click import exceptions as click_errors
    from typer.exceptions import Abort

    from imagetrust.cli.app import app_for
    from imagetrust.cli.state import DEBUG
    from imagetrust.logs import redact

    try:
        args = sys.argv[1:] if argv is None else argv
        # Not standalone: Click's own usage errors come here, to be printed as one line.
        result = app_for(args)(args=args, prog_name="imagetrust", standalone_mode=False)
        return result if isinstance(result, int) else 0  # --help and typer.Exit give a code
    except click_errors.NoArgsIsHelpError as exc:
        exc.show()  # ``imagetrust`` alone: the help, as asked for
        return exc.exit_code
    except click_errors.UsageError as exc:
        from imagetrust.cli.output import printable

        sys.stderr.write(f"error: {printable(redact(_usage_line(exc)))}\n")
        return exc.exit_code
    except click_errors.ClickException as exc:
        from imagetrust.cli.output import printable

        sys.stderr.write(f"error: {printable(redact(_one_line(exc.format_message())))}\n")
        return exc.exit_code
    except Abort:  # end of input at a prompt
        sys.stderr.write("error: aborted\n")
        return EXIT_FAILURE
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else EXIT_FAILURE)
    except ImagetrustError as exc:
        if DEBUG["enabled"]:
            import traceback

            sys.stderr.write(redact(traceback.format_exc()))
        from imagetrust.cli.output import printable  # messages quote registries and feeds

        sys.stderr.write(f"error: {printable(redact(_one_line(exc.message)))}\n")
        if exc.hint:
            sys.stderr.write(f"hint: {printable(redact(_one_line(exc.hint)))}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return 130
    except Exception as exc:
        if DEBUG["enabled"]:
            import traceback

            sys.stderr.write(redact(traceback.format_exc()))
        from imagetrust.cli.output import printable

        detail = printable(redact(f"{type(exc).__name__}: {exc}"))
        sys.stderr.write(f"error: internal error: {detail} (rerun with --debug for details)\n")
        return EXIT_FAILURE
    return 0


def _one_line(text: str) -> str:
    """A message a library wrote over several lines, as one (errors are one line each)."""
    return " ".join(line.strip() for line in text.splitlines() if line.strip())


def _usage_line(exc: Any) -> str:
    """Click's usage error as one line: its message, then the command's usage."""
    message = _one_line(str(exc.format_message()))
    ctx = exc.ctx
    if ctx is None:
        return message
    usage = _one_line(ctx.get_usage()).removeprefix("Usage: ")
    return f"{message} (usage: {usage}; see {ctx.command_path} --help)"


_EXIT_CODE = [EXIT_FAILURE]  # what ``_leave`` exits with unless ``run`` got a result


def run() -> NoReturn:
    """The console script: ``main`` with fewer collector passes, then an exit that skips
    the interpreter's tear-down.

    Tearing down every module and object a run loaded costs ~40 M instructions (10-25 ms
    here, a tenth of a warm ``sbom``) and has no effect a user can see once everything
    is written. ``_leave`` is registered before any library registers an exit handler,
    and exit handlers run last-registered first, so it runs after all of theirs (logging
    flushes its handlers, temporary folders are removed), and Python has already waited
    for non-daemon threads by then. ``main`` itself, which tests call, exits normally.
    """
    import atexit
    import gc

    atexit.register(_leave)
    # Start-up creates ~35,000 long-lived objects (modules, classes, functions), and with the
    # default threshold of 700 the cycle collector walks them ~50 times before the command
    # even starts (~18 M instructions, 5 % of a warm ``sbom``). Collecting young objects
    # every 50,000 allocations instead still frees cycles in long runs, with bounded memory.
    gc.set_threshold(50_000)
    code = main()
    _EXIT_CODE[0] = code
    sys.exit(code)


def _leave() -> None:
    import contextlib
    import os

    for stream in (sys.stdout, sys.stderr):
        # A closed pipe or stream (``| head``): there is nothing more to say to it.
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(_EXIT_CODE[0])


if __name__ == "__main__":  # pragma: no cover
    run()
