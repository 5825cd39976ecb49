"""The kept screening state: changed households replaced without copying the others, the
rows a re-run stores, and segments on disk (appended, merged again, unreadable)."""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from selaras_eligibility.screening import state
from selaras_eligibility.screening.outcomes import OUTSIDE
from selaras_registry.service.changes import SNAPSHOT_SCHEMA

WIDTH = 2
SERIES = uuid.UUID("5f0b7a52-9a3e-4c55-9d0e-2f4c1b7e8a01")


def household(number: int, village: str = "7303012001", desil: int | None = 2) -> dict[str, Any]:
    """A snapshot row (one member) with a readable id."""
    return {
        "id": f"00000000-0000-4000-8000-{number:012d}",
        "village_code": village,
        "desil": desil,
        "programs_received": [],
        "ppks": [],
        "version": 1,
        "members": [{"id": str(uuid.uuid4()), "sex": "female", "birth_date": date(1980, 1, 1)}],
    }


def rows(*households: dict[str, Any]) -> pa.Table:
    """Snapshot rows narrowed to rule inputs, as screening keeps them."""
    return state.rule_inputs(pa.Table.from_pylist(list(households), SNAPSHOT_SCHEMA))


def letters(*codes: str) -> np.ndarray[Any, np.dtype[np.uint8]]:
    """Letters per household, one string (of WIDTH letters) each."""
    return np.frombuffer("".join(codes).encode(), dtype=np.uint8).reshape(len(codes), WIDTH).copy()


def ids(table: pa.Table) -> list[str]:
    return [str(i) for i in table.column("id").to_pylist()]


def initial(count: int = 8) -> state.State:
    table = rows(*(household(n) for n in range(count)))
    base = letters(*(["EN"] * count))
    final = letters(*(["SN"] * count))
    return state.State.evaluated(table, base, final)


def updated(
    previous: state.State, changed: list[str], fresh: pa.Table, fresh_final: list[str]
) -> tuple[state.State, np.ndarray[Any, np.dtype[np.int64]]]:
    """`previous` with the households in `changed` replaced by `fresh`; old rows keep their
    letters, the fresh ones get `fresh_final`."""
    table, current, replaced = previous.apply(pa.array(changed, pa.string()), fresh)
    final = np.concatenate([previous.final, letters(*fresh_final)])
    final[~current] = OUTSIDE
    return (
        state.State(
            table, current, final.copy(), final, segments=previous.segments, saved=previous.saved
        ),
        replaced,
    )


def test_changed_households_are_replaced_without_copying_the_others() -> None:
    previous = initial()
    fresh = rows(household(2, desil=9), household(20))
    changed = [household(n)["id"] for n in (2, 5, 20)]  # 5 left the region, 20 is new
    table, current, replaced = previous.apply(pa.array(changed), fresh)
    assert table.num_rows == 10
    assert ids(table)[:8] == ids(previous.table)  # the kept rows, in place, not copied
    before, after = previous.table.column("id").chunk(0), table.column("id").chunk(0)
    assert after.buffers()[2].address == before.buffers()[2].address
    assert list(replaced) == [2, 5]
    assert list(current) == [True, True, False, True, True, False, True, True, True, True]
    kept = state.State(table, current, letters(*["EN"] * 10), letters(*["SN"] * 10))
    assert kept.households == 8
    assert sorted(ids(kept.households_table())) == sorted(
        [household(n)["id"] for n in (0, 1, 3, 4, 6, 7, 2, 20)]
    )
    assert kept.households_table().column("desil").to_pylist()[-2:] == [9, 2]


def test_a_rerun_stores_only_what_changed() -> None:
    previous = initial(6)
    previous.final[:] = letters("SN", "SN", "WN", "SN", "SN", "SN")
    fresh = rows(
        household(0),  # served again, unchanged
        household(1, desil=9),  # its letters change
        household(3, village="7303012002"),  # same letters, another village
        household(30),  # new
    )
    changed = [household(n)["id"] for n in (0, 1, 3, 4, 30)]  # 4 left
    now, replaced = updated(previous, changed, fresh, ["SN", "NN", "SN", "SN"])
    now.final[2] = letters("SN")[0]  # 2 moved into the quota (its household did not change)
    close, open_rows = previous.rewrites(now, replaced)
    assert sorted(close) == sorted(household(n)["id"] for n in (1, 2, 3, 4))
    assert sorted(ids(now.table.take(pa.array(open_rows)))) == sorted(
        household(n)["id"] for n in (1, 2, 3, 30)
    )

    # Nothing changed: nothing stored, even if households are served again.
    again, replaced = updated(now, [household(0)["id"]], rows(household(0)), ["SN"])
    close, open_rows = now.rewrites(again, replaced)
    assert close == [] and list(open_rows) == []


def test_segments_are_appended_then_merged_again(tmp_path: Path) -> None:
    path = state.state_path(tmp_path, SERIES)
    first = initial(8)
    state.save(path, first, {"seq": 1, "cursor": "c1"})
    loaded = state.load(path, WIDTH)
    assert loaded is not None
    assert loaded.meta == {"seq": 1, "cursor": "c1"}
    assert loaded.table.equals(first.table)
    assert (loaded.base == first.base).all() and (loaded.final == first.final).all()
    assert sorted(p.name for p in path.with_suffix("").iterdir()) == ["rows-1.arrow"]

    # One household of eight changed: its new row goes to a segment of its own.
    second, _ = updated(loaded, [household(3)["id"]], rows(household(3, desil=7)), ["NN"])
    state.save(path, second, {"seq": 2, "cursor": "c2"})
    assert sorted(p.name for p in path.with_suffix("").iterdir()) == [
        "rows-1.arrow",
        "rows-2.arrow",
    ]
    loaded = state.load(path, WIDTH)
    assert loaded is not None and loaded.meta["cursor"] == "c2"
    assert loaded.table.num_rows == 9 and loaded.households == 8
    assert loaded.households_table().equals(second.households_table())
    assert (loaded.final == second.final).all()
    assert bytes(loaded.final[3]) == b"--" and bytes(loaded.final[8]) == b"NN"

    # Nothing new: the index alone is written again.
    state.save(path, loaded, {"seq": 3, "cursor": "c3"})
    assert len(list(path.with_suffix("").iterdir())) == 2

    # A quarter of the rows gone: the current ones are written into one segment again.
    loaded = state.load(path, WIDTH)
    assert loaded is not None
    changed = [household(n)["id"] for n in (0, 1)]
    third, _ = updated(loaded, changed, rows(household(0, desil=1)), ["SS"])
    state.save(path, third, {"seq": 4, "cursor": "c4"})
    assert sorted(p.name for p in path.with_suffix("").iterdir()) == ["rows-4.arrow"]
    loaded = state.load(path, WIDTH)
    assert loaded is not None
    assert loaded.table.num_rows == loaded.households == 7
    assert loaded.table.equals(third.households_table())
    assert (loaded.final == third.final[third.current]).all()


def test_an_unreadable_state_is_none(tmp_path: Path) -> None:
    path = state.state_path(tmp_path, SERIES)
    assert state.load(path, WIDTH) is None
    state.save(path, initial(3), {"seq": 1, "cursor": "c1"})
    assert state.load(path, WIDTH + 1) is None  # other programmes
    (path.with_suffix("") / "rows-1.arrow").unlink()
    assert state.load(path, WIDTH) is None  # a segment gone
    # A state of the former layout (one file, letters beside the rows) is not read.
    with pa.OSFile(str(path), "wb") as sink:
        table = rows(household(1)).replace_schema_metadata({"selaras.state": "{}"})
        with pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)
    assert state.load(path, WIDTH) is None


def test_households_served_again_at_the_version_held_are_no_news() -> None:
    previous = initial(4)
    # 1 is served again as held; 2 changed (version 2); 3 is gone; 9 is new; 8 is gone
    # but was never held.
    again, changed, new = household(1), {**household(2), "version": 2}, household(9)
    served = pa.Table.from_pylist([again, changed, new], SNAPSHOT_SCHEMA)
    listed = pa.array(
        [again["id"], changed["id"], household(3)["id"], new["id"], household(8)["id"]]
    )
    news, fresh = previous.news(listed, served)
    assert news.to_pylist() == [changed["id"], household(3)["id"], new["id"]]
    assert ids(fresh) == [changed["id"], new["id"]]
    # Once applied, the same change set again is no news at all.
    table, current, _ = previous.apply(news, state.rule_inputs(fresh))
    applied = state.State(table, current, letters(*(["EN"] * 6)), letters(*(["SN"] * 6)))
    news, fresh = applied.news(listed, served)
    assert news.to_pylist() == [] and fresh.num_rows == 0
