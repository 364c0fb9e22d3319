"""Consumers as the request path sees them, and their API keys.

A key is 32 random bytes (``secrets.token_urlsafe``: 43 characters); only its SHA-256 is stored.
No salt and no slow hash are needed: a salt and key stretching defend low-entropy secrets
(passwords) against dictionary and precomputed-table attacks, and a 256-bit random key has no
dictionary; finding a key from its hash is a 2^256 search. A plain hash also lets a worker find
the consumer of a key with one dictionary lookup in its snapshot (no database query, no per-key
verification loop).
"""

from __future__ import annotations

import dataclasses
import hashlib
import secrets

PREFIX_LENGTH = 8  # the first characters of a key, shown to tell keys apart


@dataclasses.dataclass(frozen=True, slots=True)
class ConsumerSpec:
    """A consumer as the request path reads it."""

    id: str
    username: str
    custom_id: str | None
    groups: tuple[str, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class ConsumerTable:
    """Every consumer of a snapshot, by id and by the hash of each of its keys."""

    by_id: dict
    by_key_hash: dict

    def by_key(self, key: str) -> ConsumerSpec | None:
        """Return the consumer owning ``key`` (None: no such key)."""
        return self.by_key_hash.get(hash_key(key))


NO_CONSUMERS = ConsumerTable({}, {})


def hash_key(key: str) -> str:
    """Return the stored form of an API key: the hex SHA-256 of its UTF-8 bytes."""
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()


def new_key() -> tuple[str, str, str]:
    """Return a fresh key, its hash and its display prefix."""
    key = secrets.token_urlsafe(32)
    return key, hash_key(key), key[:PREFIX_LENGTH]


def compile_consumers(consumers, keys) -> ConsumerTable:
    """Compile consumer rows and key rows (keys of unknown consumers are left out)."""
    by_id = {str(row.id): ConsumerSpec(str(row.id), row.username, row.custom_id, tuple(row.groups or ()))
             for row in consumers}
    by_hash = {row.key_hash: by_id[str(row.consumer_id)] for row in keys if str(row.consumer_id) in by_id}
    return ConsumerTable(by_id, by_hash) if by_id else NO_CONSUMERS
