"""The watermark behind repartitioning follows the slowest input partition, once it has heard of all."""

from __future__ import annotations

from agents.watermark import InputClocks
from schemas.batches import ClockReport


def test_the_watermark_waits_until_every_input_partition_has_been_heard_of() -> None:
    clocks = InputClocks()
    clocks.merge(ClockReport({"t:0": 500}, [], 3))
    clocks.merge(ClockReport({"t:1": 900}, [], 3))
    assert clocks.slowest() is None
    clocks.merge(ClockReport({"t:2": 700}, [], 3))
    assert clocks.slowest() == 500


def test_clocks_never_move_back() -> None:
    clocks = InputClocks()
    clocks.merge(ClockReport({"t:0": 500, "t:1": 600}, [], 2))
    clocks.merge(ClockReport({"t:0": 400}, [], 2))
    assert clocks.newest == {"t:0": 500, "t:1": 600}
    assert clocks.slowest() == 500


def test_an_idle_input_partition_holds_nothing_back_until_it_speaks_again() -> None:
    clocks = InputClocks()
    clocks.merge(ClockReport({"t:0": 500}, ["t:1"], 2))
    assert clocks.slowest() == 500
    clocks.merge(ClockReport({"t:1": 300}, [], 2))
    assert clocks.slowest() == 300
    clocks.merge(ClockReport({"t:1": 300}, ["t:1"], 2))
    assert clocks.slowest() == 500


def test_a_report_leaves_the_partitions_it_does_not_mention_alone() -> None:
    clocks = InputClocks()
    clocks.merge(ClockReport({"t:0": 500}, ["t:1"], 2))
    clocks.merge(ClockReport({"t:0": 800}, [], 2))
    assert clocks.idle == {"t:1"}
    assert clocks.slowest() == 800


def test_only_idle_partitions_leave_the_watermark_to_the_wall_clock() -> None:
    clocks = InputClocks()
    clocks.merge(ClockReport({"t:0": 500}, ["t:0", "t:1"], 2))
    assert clocks.slowest() is None


def test_clocks_survive_their_table_encoding() -> None:
    clocks = InputClocks()
    clocks.merge(ClockReport({"t:0": 500, "t:1": 9}, ["t:2"], 3))
    assert InputClocks.from_list(clocks.as_list()) == clocks
