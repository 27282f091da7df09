def skip_unused_pax(buf: bytes, pos: int, /) -> int:
    """The offset past a checked pax header of unused records at ``pos``; -1 when the
    Python walker must read it (see _tarfast.c)."""
