"""The compiled-rule cache: a hot rule set compiles once, a changed document never gets stale
rules, the bound holds (least recently used out), and explain goes through it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from selaras_eligibility.rules.compiler import compile_rule_set
from selaras_eligibility.rules.compiler.cache import CompiledRuleSetCache
from selaras_eligibility.rules.document import content_hash, validate_document
from selaras_eligibility.rules.errors import RuleSetInvalid
from selaras_eligibility.service.explain import COMPILED
from tests.eligibility.conftest import Tokens
from tests.eligibility.rulesets import document
from tests.eligibility.test_catalogue import rules
from tests.eligibility.test_explain import EXPLAIN, ON, by_code, catalogue, publish
from tests.registry import factories


def _doc(max_desil: int) -> dict[str, Any]:
    return document({"<=": [{"var": "desil"}, max_desil]})


def _hash(data: dict[str, Any]) -> str:
    return content_hash(validate_document(data))


def test_a_hit_returns_the_compiled_rule_set_without_compiling_again() -> None:
    cache = CompiledRuleSetCache(maxsize=4)
    data = _doc(4)
    first = cache.compiled(_hash(data), data)
    assert first == compile_rule_set(validate_document(data))
    again = cache.compiled(_hash(data), data)
    assert again is first
    assert (cache.stats().hits, cache.stats().misses, cache.stats().size) == (1, 1, 1)


def test_different_documents_get_their_own_compiled_rules() -> None:
    cache = CompiledRuleSetCache()
    four, two = _doc(4), _doc(2)
    compiled_four = cache.compiled(_hash(four), four)
    compiled_two = cache.compiled(_hash(two), two)
    assert compiled_four.content_hash != compiled_two.content_hash
    assert compiled_two.criteria[0].rule != compiled_four.criteria[0].rule
    assert cache.compiled(_hash(four), four) is compiled_four
    assert cache.stats().size == 2


def test_least_recently_used_entry_goes_first_when_full() -> None:
    cache = CompiledRuleSetCache(maxsize=2)
    a, b, c = _doc(1), _doc(2), _doc(3)
    compiled_a = cache.compiled(_hash(a), a)
    compiled_b = cache.compiled(_hash(b), b)
    assert cache.compiled(_hash(a), a) is compiled_a  # a is now the most recently used
    cache.compiled(_hash(c), c)  # evicts b
    assert cache.stats().size == 2
    assert cache.compiled(_hash(a), a) is compiled_a
    recompiled_b = cache.compiled(_hash(b), b)
    assert recompiled_b is not compiled_b
    assert recompiled_b == compiled_b
    assert cache.stats().misses == 4


def test_a_hash_that_does_not_match_its_document_is_never_stored_under_that_hash() -> None:
    cache = CompiledRuleSetCache()
    two = _doc(2)
    wrong = "0" * 64
    compiled = cache.compiled(wrong, two)
    assert compiled.content_hash == _hash(two)
    cache.compiled(wrong, two)
    assert (cache.stats().hits, cache.stats().misses) == (0, 2)  # the wrong key never hits
    assert cache.compiled(_hash(two), two) == compiled  # stored under the document's hash
    assert (cache.stats().hits, cache.stats().size) == (1, 1)


def test_an_invalid_document_raises_and_caches_nothing() -> None:
    cache = CompiledRuleSetCache()
    bad = document({"<=": [{"var": "no_such_field"}, 4]})
    with pytest.raises(RuleSetInvalid) as raised:
        cache.compiled("1" * 64, bad)
    assert "no_such_field" in str(raised.value)
    assert cache.stats().size == 0


def test_maxsize_must_be_positive() -> None:
    with pytest.raises(ValueError, match="maxsize"):
        CompiledRuleSetCache(maxsize=0)


def test_threads_sharing_the_cache_agree_and_stay_bounded() -> None:
    cache = CompiledRuleSetCache(maxsize=3)
    docs = [_doc(limit) for limit in range(1, 7)]
    hashes = [_hash(d) for d in docs]
    errors: list[BaseException] = []

    def work(offset: int) -> None:
        try:
            for i in range(60):
                k = (i + offset) % len(docs)
                compiled = cache.compiled(hashes[k], docs[k])
                assert compiled.content_hash == hashes[k]
        except BaseException as exc:  # collected and re-raised in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    stats = cache.stats()
    assert stats.size <= 3
    assert stats.hits + stats.misses == 240


@pytest.fixture
def empty_cache() -> Iterator[None]:
    COMPILED.clear()
    yield
    COMPILED.clear()


@pytest.mark.usefixtures("empty_cache")
async def test_explain_compiles_a_published_rule_set_once_and_follows_a_new_version(
    client: httpx.AsyncClient, tokens: Tokens
) -> None:
    ids = await catalogue(client, tokens)
    household = {"village_code": factories.VILLAGE, "desil": 3}
    ask = {"household": household, "on": ON, "programs": ["BAZNAS_MODAL"]}
    headers = tokens(role="front_office")
    for _ in range(3):
        response = await client.post(EXPLAIN, json=ask, headers=headers)
        assert response.status_code == 200, response.text
        assert by_code(response.json())["BAZNAS_MODAL"]["status"] == "eligible"
    assert (COMPILED.stats().misses, COMPILED.stats().hits) == (1, 2)

    # A new published version (max decile 2) is a new content hash: compiled, not stale.
    await publish(
        client,
        tokens,
        ids["BAZNAS_MODAL"],
        rules(effective_from="2025-05-01", parameters={"max_decile": {"2025-05-01": 2}}),
    )
    response = await client.post(EXPLAIN, json=ask, headers=headers)
    assert response.status_code == 200, response.text
    modal = by_code(response.json())["BAZNAS_MODAL"]
    assert modal["status"] == "not_eligible"
    assert modal["rule_set"]["version"] == 2
    assert modal["criteria"][0]["parameters"]["max_decile"]["value"] == 2
    assert COMPILED.stats().misses == 2
