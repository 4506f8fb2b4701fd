"""The progress line: redrawn a few times a second, whatever the rate of lines, and only on a terminal."""

from __future__ import annotations

import io

from streams.progress import EVERY, Progress, wanted


class FakeClock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


def test_a_second_of_ten_thousand_lines_is_drawn_a_few_times_then_finished_at_100_percent() -> None:
    clock, screen = FakeClock(), io.StringIO()
    progress = Progress(screen, 10_000 * 5, "sent", clock=clock)
    for number, _ in enumerate(progress.lines_of(b"line\n" for _ in range(10_000)), start=1):
        clock.now += 1 / 10_000
        if number % 1000 == 0:
            progress.set_done(number)
    progress.finish()
    draws = screen.getvalue().split("\r\x1b[K")[1:]
    assert len(draws) <= 1 / EVERY + 2
    assert draws[-1] == "10,000 lines read, 10,000 sent, 10,000 lines/s, 100%\n"


def test_a_file_of_unknown_size_has_no_percentage() -> None:
    progress = Progress(io.StringIO(), None, "alerts", clock=FakeClock())
    progress.lines = 1234
    assert progress.text(progress.started + 2) == "1,234 lines read, 0 alerts, 617 lines/s"


def test_clear_erases_the_line_before_other_output() -> None:
    screen = io.StringIO()
    progress = Progress(screen, None, "alerts", clock=FakeClock())
    progress.tick()
    progress.clear()
    progress.clear()
    assert screen.getvalue() == "\r\x1b[K0 lines read, 0 alerts, 0 lines/s\r\x1b[K"


def test_nothing_is_wanted_where_stderr_is_no_terminal() -> None:
    assert not wanted(io.StringIO())


def test_finish_draws_once_and_not_at_all_before_the_first_line() -> None:
    screen = io.StringIO()
    progress = Progress(screen, None, "sent", clock=FakeClock())
    progress.finish()
    assert screen.getvalue() == ""
    list(progress.lines_of([b"one\n"]))
    progress.finish()
    progress.finish()
    assert screen.getvalue().count("\n") == 1
