"""The cost-growth ladder of ``theorycheck bench mrp``: the claims' tiers are rungs of it, and its other
rungs are sizes the claims' regime accepts (no timing is asserted)."""
import numpy as np
import pytest

from claims import mrp


@pytest.mark.parametrize("quick", [True, False])
def test_growth_ladder_passes_through_the_tiers(quick):
    tier = mrp.gain_regime().resolve("quick" if quick else "full")
    ladder = mrp._growth_ladder(quick)
    ks = [p["k"] for p in ladder]
    assert ks == sorted(ks) and tier["k"] in ks
    at_tier = ladder[ks.index(tier["k"])]
    assert {n: at_tier[n] for n in ("m", "N", "P", "d")} == {n: tier[n] for n in ("m", "N", "P", "d")}
    for p in ladder:
        assert p["N"] == 50 * p["k"] and p["d"] >= 8 * p["k"]
        assert p["m"] == round(2.4 + 2 * np.log(p["k"]))
        if p["k"] <= mrp.gain_regime().param("k").high:
            mrp.gain_regime().validate(p)


def test_bench_table_prints_missing_ratios_and_exponents(monkeypatch, capsys):
    """A reference that is not installed leaves its ratio ``None`` (printed ``n/a``, kept ``null`` in JSON);
    a cost-growth row has exponents and no single time."""
    import json

    from theorycheck import cli, registry

    rows = [{"case": "step", "seconds": 0.002, "ratio_vs_floor": 1.25, "ratio_vs_torch": None},
            {"case": "step cost growth", "exponent": 2.5, "exponent_ci_low": 2.25, "exponent_ci_high": 2.75}]
    monkeypatch.setitem(registry._BENCHES, "fake", lambda quick: rows)
    monkeypatch.setattr(registry, "load_plugins", lambda: None, raising=False)
    assert cli.main(["bench", "fake", "--quick"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "2.00 ms" in out[0] and "ratio_vs_floor=1.25" in out[0] and "ratio_vs_torch=n/a" in out[0]
    assert "exponent=2.50, exponent_ci_low=2.25, exponent_ci_high=2.75" in out[1] and " ms" not in out[1]
    assert cli.main(["bench", "fake", "--quick", "--json", "-"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed[0]["ratio_vs_torch"] is None and printed[1]["exponent"] == 2.5


# ------------------------------------------------------------------ PyTorch-CPU reference
def _torch_or_skip():
    from simulations.multiview import torch_reference

    torch = torch_reference.load_torch()
    if torch is None:
        pytest.skip("torch is not installed or does not load (the optional 'bench' extra, a CPU build)")
    return torch


def _small_problem():
    """A small multi-view training set (structured layout) and weights whose pre-activations fall in every
    piece of the smoothed ReLU (below 0, in (0, varrho), above varrho)."""
    from simulations.multiview import data as mvdata, losses

    p = {**mrp.gain_regime().resolve("quick"), "k": 4, "P": 10, "d": 32, "N": 40, "mu": 0.1}
    D = mvdata.sample(mrp.data_config(p), p["N"], np.random.default_rng(3))
    rng = np.random.default_rng(4)
    M = p["k"] * p["m"]
    W0 = 0.08 * rng.standard_normal((M, p["d"]))
    batch = losses.Batch(D.X)
    assert batch.structured
    Z = losses.preact(batch, W0)
    assert min((Z <= 0).mean(), ((Z > 0) & (Z < mrp.VARRHO)).mean(), (Z >= mrp.VARRHO).mean()) > 0.005
    return p, D, W0, rng


def _assert_same_weights(ours, theirs, start):
    moved = max(np.abs(o - s).max() for o, s in zip(ours, start))
    assert moved > 1e-3, f"GD barely moved the weights ({moved:.1e}): agreement would say nothing"
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(t, o, rtol=0, atol=1e-10)


def test_torch_sl_and_mrp_steps_agree_with_our_training_loops():
    """Five GD steps of the PyTorch autograd reference land on the weights of our fused SL loop
    (``train_sl``) and MRP loop (``pretrain_mrp``, fixed teacher, b = 1) to 1e-10."""
    from simulations.multiview import losses, torch_reference, train

    torch = _torch_or_skip()
    p, D, W0, rng = _small_problem()
    k, P, steps = p["k"], p["P"], 5
    X2 = D.X.reshape(-1, p["d"])

    net = train.NetConfig(m=p["m"], q=p["q"], varrho=mrp.VARRHO, eta=p["eta"], T=steps)
    ours = train.train_sl(D, net, W0, k, stop_at=None).W
    step = torch_reference.sl_step(torch, X2, D.y, W0, k, P, mrp.VARRHO, p["q"], p["eta"])
    for _ in range(steps):
        step()
    _assert_same_weights([ours], step.weights(), [W0])

    WT = 0.15 * rng.standard_normal(W0.shape)
    net = train.NetConfig(m=p["m"], q=p["q_mrp"], varrho=mrp.VARRHO, eta_pre=p["eta_pre"], T_pre=steps,
                          theta=p["theta"], teacher="fixed", decoder="fixed", w_cap=1e6)
    ours = train.pretrain_mrp(D, net, W0, k, teacher_W=WT).W
    teacher_H = losses.encode(losses.Batch(D.X), WT, mrp.VARRHO, p["q_mrp"])
    step = torch_reference.mrp_step(torch, X2, p["N"], P, W0, np.ones(W0.shape[0]), p["theta"], mrp.VARRHO,
                                    p["q_mrp"], teacher_H, p["eta_pre"])
    for _ in range(steps):
        step()
    _assert_same_weights([ours], step.weights(), [W0])


def test_torch_pixel_step_agrees_with_our_pixel_loop():
    """Five joint encoder-decoder steps of the pixel target: torch autograd against ``pretrain_pixels``."""
    from simulations.multiview import pixel, torch_reference

    torch = _torch_or_skip()
    p, D, W0, rng = _small_problem()
    U0 = 0.05 * rng.standard_normal((p["d"], W0.shape[0]))
    cfg = pixel.PixelConfig(q=p["q_mrp"], varrho=mrp.VARRHO, theta=p["theta"], eta=p["eta_pix"], T=5)
    run = pixel.pretrain_pixels(D.X, cfg, W0, U0, p["k"])
    step = torch_reference.pixel_step(torch, D.X, W0, U0, p["theta"], mrp.VARRHO, p["q_mrp"], p["eta_pix"])
    for _ in range(5):
        step()
    _assert_same_weights([run.W, run.U], step.weights(), [W0, U0])


SMALL_SHAPE = {"k": 4, "P": 10, "d": 32, "N": 40, "mu": 0.1}


def test_bench_without_torch_prints_the_skip_line_and_null_ratios(monkeypatch, capsys, tmp_path):
    """Without torch (a ``torch`` package whose import fails, first on the path) the reference is skipped."""
    import sys

    (tmp_path / "torch").mkdir()
    (tmp_path / "torch" / "__init__.py").write_text("raise ImportError(\"No module named 'torch'\")\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "torch", raising=False)
    rows = mrp._bench_tier(True, over=SMALL_SHAPE)
    err = capsys.readouterr().err
    assert "torch is not installed, the PyTorch-CPU reference is skipped" in err and "theorycheck[bench]" in err
    assert [r["case"] for r in rows] == ["sl_step", "mrp_step", "pixel_step"]
    for r in rows:
        assert r["ratio_vs_torch"] is None and r["ratio_vs_torch_default_threads"] is None
        assert r["torch_seconds"] is None and r["torch_version"] is None
        assert r["step_seconds"] > 0 and r["ratio_vs_numpy"] > 0


def test_bench_with_torch_times_it_on_one_and_default_threads():
    """The torch rows carry both ratios as time ratios, and torch's thread count is restored afterwards."""
    from simulations.multiview import torch_reference

    torch = _torch_or_skip()

    before = torch.get_num_threads()
    rows = mrp._bench_tier(True, over=SMALL_SHAPE)
    assert torch.get_num_threads() == before
    for r in rows:
        assert r["ratio_vs_torch"] == pytest.approx(r["torch_seconds"] / r["step_seconds"])
        assert r["ratio_vs_torch_default_threads"] == pytest.approx(
            r["torch_default_threads_seconds"] / r["step_seconds"])
        assert r["torch_threads_default"] == torch_reference.default_threads(torch) >= 1
        assert r["torch_version"] == torch.__version__
