"""`sentinel effectiveness` as a user runs it: the table, --json, --plot, the errors and their exit codes."""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from matplotlib import image

from agents.config import Config
from agents.effectiveness import measure
from agents.holdout import Holdout
from schemas import codec
from schemas.errors import SentinelError
from schemas.events import encode_event
from schemas.timestamps import DAY, parse_instant
from streams.effectiveness_plot import plot_report
from streams.traffic import lifecycle_history

HOLDOUT = Holdout(0.2, "2026-q4")
CONFIG = '[holdout]\nshare = 0.2\nsalt = "2026-q4"\n'
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def sentinel(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "streams.cli", "effectiveness", *args],
        input=stdin,
        capture_output=True,
        check=False,
        timeout=120,
    )


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("effectiveness")
    events = lifecycle_history(
        400,
        seed=2,
        start=parse_instant("2025-01-01T00:00:00Z"),
        span_days=120,
        outreach_effect=-0.5,
        holdout=HOLDOUT,
    )
    history = folder / "history.jsonl"
    history.write_bytes(b"".join(encode_event(event) + b"\n" for event in events))
    config = folder / "thresholds.toml"
    config.write_text(CONFIG)
    return history, config


def test_the_terminal_table_has_a_row_per_pattern_in_aligned_columns(files: tuple[Path, Path]) -> None:
    history, config = files
    done = sentinel(str(history), "--config", str(config))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.decode().splitlines()
    header = next(number for number, line in enumerate(lines) if line.startswith("pattern "))
    rows = lines[header : header + 1 + len(Config.default().patterns)]
    assert [row.split()[0] for row in rows[1:]] == [pattern.name for pattern in Config.default().patterns]
    assert len({len(row) for row in rows}) == 1, "the last column is right-aligned, so rows end together"
    verdict_at = rows[0].index("verdict")
    assert {row[verdict_at:].split("  ")[0] for row in rows[1:]} <= {"helps", "hurts", "no evidence"}
    assert "Holdout: share 0.2, salt '2026-q4'." in lines


def test_json_is_the_report_the_library_computes(files: tuple[Path, Path]) -> None:
    history, config = files
    done = sentinel(str(history), "--config", str(config), "--horizon", "60d", "--json")
    assert done.returncode == 0, done.stderr
    printed = codec.loads(done.stdout)
    with history.open("rb") as lines:
        expected = measure(lines, config=replace(Config.default(), holdout=HOLDOUT), horizon=60 * DAY)
    assert printed == codec.loads(codec.dumps(expected.as_json_ready()))
    assert printed["horizon"] == "60d"
    assert printed["holdout"] == {"share": 0.2, "salt": "2026-q4"}
    post_sale = next(row for row in printed["patterns"] if row["pattern"] == "post_sale_abandonment")
    assert set(post_sale) == {
        "pattern", "alerted", "held_out", "left_out", "difference", "interval", "verdict"
    }  # fmt: skip
    assert set(post_sale["alerted"]) == {"customers", "lost", "rate", "interval"}
    assert post_sale["alerted"]["customers"] > 0 and post_sale["held_out"]["customers"] > 0


def test_stdin_works_like_a_file(files: tuple[Path, Path]) -> None:
    history, config = files
    from_file = sentinel(str(history), "--config", str(config), "--json")
    from_stdin = sentinel("-", "--config", str(config), "--json", stdin=history.read_bytes())
    assert from_stdin.returncode == 0
    assert from_stdin.stdout == from_file.stdout


def test_plot_writes_a_png_that_reads_back(files: tuple[Path, Path], tmp_path: Path) -> None:
    history, config = files
    picture = tmp_path / "effect.png"
    done = sentinel(str(history), "--config", str(config), "--plot", str(picture))
    assert done.returncode == 0, done.stderr
    assert b"patterns drawn in" in done.stderr
    data = picture.read_bytes()
    assert len(data) > 0 and data.startswith(PNG_SIGNATURE)
    pixels = image.imread(picture)
    height, width = pixels.shape[:2]
    assert width == 1000 and height > 300
    assert pixels.min() < pixels.max(), "something is drawn"


def test_plot_without_matplotlib_says_which_extra_to_install(
    files: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    history, _ = files
    with history.open("rb") as lines:
        report = measure(lines, config=replace(Config.default(), holdout=HOLDOUT), horizon=90 * DAY)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    expected = "--plot needs matplotlib: pip install 'touchpoint-sentinel[plot]'"
    with pytest.raises(SentinelError, match=re.escape(expected)):
        plot_report(report, tmp_path / "never.png")
    assert not (tmp_path / "never.png").exists()


def test_an_unreadable_history_exits_2(tmp_path: Path) -> None:
    done = sentinel(str(tmp_path / "absent.jsonl"))
    assert done.returncode == 2
    assert done.stderr.decode().splitlines() == [
        f"sentinel effectiveness: cannot read {tmp_path / 'absent.jsonl'}: No such file or directory"
    ]


@pytest.mark.parametrize("horizon", ["soon", "90", "-3d", "0d"])
def test_a_bad_horizon_exits_2_naming_the_option(horizon: str) -> None:
    done = sentinel("-", f"--horizon={horizon}", stdin=b"")
    assert done.returncode == 2
    assert done.stderr.decode().startswith("sentinel effectiveness: --horizon")


def test_a_bad_holdout_share_exits_2_naming_the_key(tmp_path: Path) -> None:
    config = tmp_path / "thresholds.toml"
    config.write_text('[holdout]\nshare = 0.7\nsalt = "2026-q4"\n')
    done = sentinel("-", "--config", str(config), stdin=b"")
    assert done.returncode == 2
    assert done.stderr.decode().splitlines() == [
        f"sentinel effectiveness: {config}: holdout.share must be a number from 0 to 0.5, got 0.7"
    ]


def test_an_unwritable_plot_exits_2(files: tuple[Path, Path], tmp_path: Path) -> None:
    history, _ = files
    target = tmp_path / "missing-folder" / "effect.png"
    done = sentinel(str(history), "--plot", str(target))
    assert done.returncode == 2
    assert done.stderr.decode().splitlines() == [
        f"sentinel effectiveness: cannot write {target}: No such file or directory"
    ]


def test_rejected_lines_are_counted_on_stderr_and_the_report_goes_on() -> None:
    lead = (
        b'{"specversion":"1.0","id":"e1","source":"crm","type":"lead.created","subject":"C-1",'
        b'"time":"2026-03-01T09:00:00Z","data":{"owner":"R-1"}}'
    )
    done = sentinel("-", "--json", stdin=lead + b"\n{not json\n")
    assert done.returncode == 0
    assert done.stderr.decode().splitlines() == [
        "1 rejected lines or events left out (sentinel replay names them)"
    ]
    assert codec.loads(done.stdout)["end"] == "2026-03-01T09:00:00Z"
