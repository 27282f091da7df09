"""The command line: Typer commands that parse options, call the stages and print.

Nothing outside this package imports it. Command modules import stage code inside the
command function, so ``imagetrust --help`` only pays for Typer.
"""
