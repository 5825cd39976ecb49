"""A bounded cache of compiled rule sets keyed by content hash, so a hot rule set compiles once.

A compiled rule set is immutable and is fully determined by its document, whose content hash
names it: the same hash always compiles to the same thing, so an entry never goes stale and
needs no invalidation, only a bound on memory (least recently used out first).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from selaras_eligibility.rules.compiler import compile_rule_set
from selaras_eligibility.rules.document import validate_document
from selaras_eligibility.rules.nodes import CompiledRuleSet


@dataclass(frozen=True)
class CacheStats:
    """How often the cache answered, how often it compiled, and how many entries it holds."""

    hits: int
    misses: int
    size: int


class CompiledRuleSetCache:
    """Compiled rule sets by content hash, at most `maxsize` of them (least recently used out).

    Safe to share between threads: the lock guards the table only; compiling happens outside
    it, so two callers missing the same hash at once both compile and the second store wins
    (both results are equal).
    """

    def __init__(self, maxsize: int = 512) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        self.maxsize = maxsize
        self._entries: OrderedDict[str, CompiledRuleSet] = OrderedDict()
        self._lock = threading.Lock()
        self._hits = 0
        self._misses = 0

    def compiled(self, content_hash: str, document: Any) -> CompiledRuleSet:
        """The compiled form of `document` (plain data) whose content hash is `content_hash`."""
        with self._lock:
            found = self._entries.get(content_hash)
            if found is not None:
                self._entries.move_to_end(content_hash)
                self._hits += 1
                return found
            self._misses += 1
        compiled = compile_rule_set(validate_document(document))
        # Stored under the hash the compiler computed, not the one given: a caller whose hash
        # does not match its document (a stale column) misses every time rather than ever
        # being handed another document's rules.
        with self._lock:
            self._entries[compiled.content_hash] = compiled
            self._entries.move_to_end(compiled.content_hash)
            while len(self._entries) > self.maxsize:
                self._entries.popitem(last=False)
        return compiled

    def stats(self) -> CacheStats:
        """Hits, misses and entries so far."""
        with self._lock:
            return CacheStats(self._hits, self._misses, len(self._entries))

    def clear(self) -> None:
        """Forget every entry and reset the counts."""
        with self._lock:
            self._entries.clear()
            self._hits = self._misses = 0
