"""Streams verified against their digest, hashed inline or on a worker thread."""

from __future__ import annotations

import hashlib
import os
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imagetrust.oci import digest as digest_module
from imagetrust.oci.digest import BackgroundHash, VerifyingReader, digest_of
from imagetrust.oci.errors import DigestMismatchError

BIG = os.urandom(digest_module.BACKGROUND_HASH_MIN + 12345)


def chunked(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def digest_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "blob-digest"]


def read_all(reader: VerifyingReader, size: int = 1 << 16) -> bytes:
    out = bytearray()
    while True:
        buffer = bytearray(size)
        count = reader.readinto(buffer)
        if not count:
            return bytes(out)
        out += buffer[:count]


def test_a_large_blob_is_hashed_on_a_worker_thread_and_verified() -> None:
    reader = VerifyingReader(
        iter(chunked(BIG, 1 << 18)), digest=digest_of(BIG), size=len(BIG), source="t"
    )
    assert isinstance(reader._hasher, BackgroundHash)
    assert digest_threads()
    assert read_all(reader) == BIG
    assert reader.verified
    assert not digest_threads()  # the worker ended with the digest


def test_a_large_blob_with_one_flipped_byte_is_refused() -> None:
    bad = bytearray(BIG)
    bad[len(bad) // 2] ^= 1
    reader = VerifyingReader(
        iter(chunked(bytes(bad), 1 << 18)), digest=digest_of(BIG), size=len(BIG), source="t"
    )
    with pytest.raises(DigestMismatchError) as info:
        read_all(reader)
    assert info.value.actual == digest_of(bytes(bad))
    assert not reader.verified


def test_closing_a_large_blob_half_read_stops_its_worker() -> None:
    closed: list[bool] = []
    reader = VerifyingReader(
        iter(chunked(BIG, 1 << 16)),
        digest=digest_of(BIG),
        size=len(BIG),
        source="t",
        on_close=lambda: closed.append(True),
    )
    reader.readinto(bytearray(1 << 16))
    reader.close()
    assert closed == [True]
    assert not digest_threads()


def test_small_blobs_are_hashed_inline() -> None:
    data = b"x" * 1000
    reader = VerifyingReader(iter([data]), digest=digest_of(data), size=len(data), source="t")
    assert not isinstance(reader._hasher, BackgroundHash)
    assert read_all(reader) == data and reader.verified


@settings(max_examples=25, deadline=None)
@given(
    data=st.binary(min_size=0, max_size=1 << 14),
    pieces=st.lists(st.integers(min_value=1, max_value=1 << 12), min_size=1, max_size=8),
)
def test_background_hash_equals_hashlib_for_any_split(data: bytes, pieces: list[int]) -> None:
    background = BackgroundHash(hashlib.sha256())
    position = 0
    for size in pieces * (len(data) // max(sum(pieces), 1) + 1):
        if position >= len(data):
            break
        background.update(data[position : position + size])
        position += size
    background.update(data[position:])
    assert background.hexdigest() == hashlib.sha256(data).hexdigest()
    background.close()  # a second close is harmless
