"""Every path and address a command writes to or connects to is checked before any work starts: a bad one
exits 2 with one line naming the flag, and no claim is looked up, measured or drawn."""
import pytest

from theorycheck import registry
from theorycheck.cli import main
from theorycheck.paths import check_output_dir, check_scheduler
from theorycheck.regime import RegimeError


@pytest.fixture
def no_work(monkeypatch):
    """Any claim lookup (the first step of every command's work) fails the test."""
    def started(*args, **kwargs):
        raise AssertionError("the command started work before checking its paths")

    for name in ("select", "get", "all_claims", "benches", "load_plugins"):
        monkeypatch.setattr(registry, name, started)


@pytest.fixture
def a_file(tmp_path):
    path = tmp_path / "a_file"
    path.write_text("not a directory")
    return path


def _refused(argv, capsys, *words):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("theorycheck: error: ")
    for word in words:
        assert word in err, err


def test_verify_json_into_a_missing_directory(no_work, tmp_path, capsys):
    _refused(["verify", "lemma", "--json", str(tmp_path / "missing" / "rows.json")], capsys, "--json", "does not exist")


def test_verify_json_onto_a_directory(no_work, tmp_path, capsys):
    _refused(["verify", "lemma", "--json", str(tmp_path)], capsys, "--json", "is a directory")


def test_verify_out_under_a_parent_that_cannot_be_created(no_work, a_file, capsys):
    _refused(["verify", "lemma", "--out", str(a_file / "sub" / "store")], capsys, "--out", "cannot be created")


def test_verify_out_that_is_a_file(no_work, a_file, capsys):
    _refused(["verify", "lemma", "--out", str(a_file)], capsys, "--out", "is a file")


@pytest.mark.parametrize("address", ["bogus://x", "bogus://x:8786", "host", "tcp://host", "tcp://host:99999",
                                     "http://host:8786", "host:port"])
def test_verify_scheduler_that_is_not_an_address(no_work, address, capsys):
    _refused(["verify", "lemma", "--scheduler", address], capsys, "--scheduler")


@pytest.mark.parametrize("address", ["local", "127.0.0.1:8786", "tcp://10.0.0.5:8786", "tls://sched.example:8786",
                                     "scheduler-0:8786", "[::1]:8786"])
def test_scheduler_addresses_that_are_allowed(address):
    check_scheduler(address)


@pytest.fixture
def no_measurement(monkeypatch):
    """``plot`` selects its claims first (one file or a directory depends on how many): it may look them up,
    but measuring one fails the test."""
    from theorycheck import runner

    monkeypatch.setattr(runner, "verify_claim", lambda *a, **k: pytest.fail("the command measured a claim"))


def test_plot_out_under_a_file(no_measurement, a_file, capsys):
    _refused(["plot", "lemma.tensor_power.bounds", "--out", str(a_file / "fig.png")], capsys, "--out",
             "cannot be created")


def test_plot_out_of_an_unknown_type(no_measurement, tmp_path, capsys):
    _refused(["plot", "lemma.tensor_power.bounds", "--out", str(tmp_path / "fig.gif")], capsys, "--out", ".png")


def test_report_dir_missing_or_a_file(no_work, tmp_path, a_file, capsys, monkeypatch):
    import theorycheck.report as report

    monkeypatch.setattr(report, "run_cli", lambda args: pytest.fail("the report started"))
    _refused(["report", str(tmp_path / "missing")], capsys, "report DIR", "does not exist")
    _refused(["report", str(a_file)], capsys, "report DIR", "not a directory")
    _refused(["report", str(tmp_path), "--out", str(a_file / "r.html")], capsys, "--out", "cannot be created")


def test_explore_out_and_json(no_work, tmp_path, a_file, capsys, monkeypatch):
    import theorycheck.explore as explore

    monkeypatch.setattr(explore, "run_cli", lambda args: pytest.fail("the search started"))
    _refused(["explore", "lemma.tensor_power.bounds", "--out", str(a_file / "x")], capsys, "--out",
             "cannot be created")
    _refused(["explore", "lemma.tensor_power.bounds", "--json", str(tmp_path / "no" / "x.json")], capsys,
             "--json", "does not exist")


def test_bench_json_into_a_missing_directory(no_work, tmp_path, capsys):
    _refused(["bench", "--json", str(tmp_path / "missing" / "bench.json")], capsys, "--json", "does not exist")


def test_a_directory_to_be_created_passes_and_is_not_created(tmp_path, monkeypatch):
    target = tmp_path / "new" / "deeper" / "store"
    assert check_output_dir(str(target), "--out") == target and not (tmp_path / "new").exists()
    (tmp_path / "a").write_text("x")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(RegimeError, match="--out 'a/b' cannot be created"):
        check_output_dir("a/b", "--out")
