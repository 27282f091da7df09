"""Console-script entry point: runs the app and maps errors to exit codes.

User errors print one line (plus a hint) on stderr; unexpected exceptions print one line
asking for ``--debug``, which shows the traceback. Secrets are redacted from both.
"""

from __future__ import annotations

import sys

from imagetrust.errors import EXIT_FAILURE, ImagetrustError


def main(argv: list[str] | None = None) -> int:
    import os

    # Pydantic looks for third-party plugins in every installed distribution's entry points
    # on first use (~20 ms); imagetrust uses none, so a command need not pay for the search.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    from imagetrust.cli.app import app_for
    from imagetrust.cli.state import DEBUG
    from imagetrust.logs import redact

    try:
        args = sys.argv[1:] if argv is None else argv
        app_for(args)(args=args, prog_name="imagetrust")
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else EXIT_FAILURE)
    except ImagetrustError as exc:
        if DEBUG["enabled"]:
            import traceback

            sys.stderr.write(redact(traceback.format_exc()))
        sys.stderr.write(f"error: {redact(exc.message)}\n")
        if exc.hint:
            sys.stderr.write(f"hint: {redact(exc.hint)}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return 130
    except Exception as exc:
        if DEBUG["enabled"]:
            import traceback

            sys.stderr.write(redact(traceback.format_exc()))
        detail = redact(f"{type(exc).__name__}: {exc}")
        sys.stderr.write(f"error: internal error: {detail} (rerun with --debug for details)\n")
        return EXIT_FAILURE
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
