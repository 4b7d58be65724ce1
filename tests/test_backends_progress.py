"""The progress bar: tasks done, running and left, and what it prints on a terminal and in a log."""
import io

import helpers_planted as planted
from theorycheck import runner
from theorycheck.progress import Progress
from theorycheck.store import Store


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_line_counts_done_running_left_and_reused():
    bar = Progress("claim.x", 10, stream=io.StringIO())
    bar.update(done=4, running=2, reused=3)
    line = bar.line()
    assert "4/10 done (3 reused), 2 running, 4 left" in line and "eta" in line
    assert bar.left == 4


def test_a_log_gets_only_the_closing_line():
    log = io.StringIO()
    bar = Progress("claim.x", 3, stream=log)
    for i in range(1, 4):
        bar.update(done=i, running=0)
    bar.close("verified")
    lines = log.getvalue().splitlines()
    assert len(lines) == 1 and "3/3 done, 0 running, 0 left" in lines[0] and lines[0].endswith("verified")


def test_a_terminal_is_redrawn_in_place():
    term = Terminal()
    bar = Progress("claim.x", 2, stream=term)
    bar.redraw_s = 0.0
    bar.update(done=1, running=1)
    bar.update(done=2, running=0)
    bar.close("verified")
    out = term.getvalue()
    assert out.count("\r") == 3 and out.endswith("verified\x1b[K\n")
    assert "1/2 done, 1 running, 0 left" in out


def test_disabled_prints_nothing():
    log = io.StringIO()
    bar = Progress("claim.x", 2, enabled=False, stream=log)
    bar.update(done=2)
    bar.close("verified")
    assert log.getvalue() == ""


def test_verify_reports_reused_measurements(tmp_path, capsys):
    with Store(tmp_path) as st:
        runner.verify_claim(planted.MEAN_SQUARE, {"n": 8}, 3, store=st, progress=False)
        runner.verify_claim(planted.MEAN_SQUARE, {"n": 8}, 5, store=st, progress=True)
    err = capsys.readouterr().err
    assert "5/5 done (3 reused), 0 running, 0 left" in err and err.rstrip().endswith("verified")
