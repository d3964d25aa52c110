"""The generator matches the authors' forward computation and checkpoint layout."""
import numpy as np
import pytest
import torch

from app.core.errors import WeightsError
from app.core.sttn import GeneratorConfig, InpaintGenerator, checkpoint_meta, load_generator, save_generator


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["official", "masked"])
def test_matches_reference_outputs(fixture_weights, fixture_arrays, mode):
    model = load_generator(fixture_weights, attention=mode)
    with torch.no_grad():
        out = model(torch.from_numpy(fixture_arrays["masked_frames"]), torch.from_numpy(fixture_arrays["masks"]))
    assert out.shape == (6, 3, 240, 432)
    assert np.abs(out.numpy() - fixture_arrays[f"out_{mode}"]).max() < 1e-4


def test_modes_differ_and_default_is_official(fixture_weights):
    model = load_generator(fixture_weights)
    assert model.attention_mode == "official"
    assert not model.training
    assert sum(p.numel() for p in model.parameters()) == 16_556_163


def test_state_dict_keys_are_the_authors(fixture_weights):
    state = torch.load(fixture_weights, weights_only=True)["netG"]
    assert set(InpaintGenerator().state_dict()) == set(state)


def tiny_config(**kw):
    return GeneratorConfig(channels=32, blocks=2, patch_sizes=((27, 15), (9, 5)), width=108, height=60, **kw)


def test_saved_checkpoint_records_mode_and_settings(tmp_path):
    torch.manual_seed(0)
    model = InpaintGenerator(tiny_config(attention="masked"))
    path = save_generator(model, tmp_path / "g.pth", steps=3)
    meta = checkpoint_meta(path)
    assert meta["config"]["attention"] == "masked" and meta["steps"] == 3 and meta["dtype"] == "float16"
    loaded = load_generator(path)
    assert loaded.attention_mode == "masked" and loaded.config == model.config
    assert load_generator(path, attention="official").attention_mode == "official"
    x = torch.rand(1, 3, 3, 60, 108) * 2 - 1
    m = torch.zeros(1, 3, 1, 60, 108)
    m[..., 20:40, 30:70] = 1
    with torch.no_grad():
        a, b = model.half().float()(x * (1 - m), m), loaded(x * (1 - m), m)
    assert torch.allclose(a, b, atol=1e-5)


def test_masked_attention_changes_output():
    torch.manual_seed(1)
    model = InpaintGenerator(tiny_config()).eval()
    model.init_weights(gain=0.2)  # larger than the training init, so that attention visibly matters
    x = torch.rand(1, 3, 3, 60, 108) * 2 - 1
    m = torch.zeros(1, 3, 1, 60, 108)
    m[..., :, :60] = 1
    with torch.no_grad():
        a = model(x * (1 - m), m)
        model.set_attention_mode("masked")
        b = model(x * (1 - m), m)
    assert (a - b).abs().max() > 1e-4


def test_bare_state_dict_and_float32_load(tmp_path):
    model = InpaintGenerator(tiny_config())
    torch.save(model.state_dict(), tmp_path / "bare.pth")
    with pytest.raises(WeightsError, match="missing keys|shape"):
        load_generator(tmp_path / "bare.pth")  # tiny shapes do not fit the default (no metadata) model
    full = InpaintGenerator()
    torch.save({"netG": full.state_dict()}, tmp_path / "authors.pth")
    assert load_generator(tmp_path / "authors.pth").attention_mode == "official"


@pytest.mark.parametrize("content,match", [
    (b"not a checkpoint at all", "Cannot read weights file"),
    (b"", "Cannot read weights file"),
    (b"junk\n", "Cannot read weights file"),  # the unpickler raises KeyError
    (b"K", "Cannot read weights file"),  # ... and IndexError
])
def test_garbage_files_give_clear_errors(tmp_path, content, match):
    p = tmp_path / "bad.pth"
    p.write_bytes(content)
    with pytest.raises(WeightsError, match=match) as e:
        load_generator(p)
    assert str(p) in str(e.value)


def test_a_text_file_and_a_pickled_model_are_told_apart(tmp_path):
    """A text file (a README passed as --weights) was said to hold "a whole pickled model": the
    weights-only unpickler reads its first letter as an opcode and fails as it does on one."""
    (tmp_path / "README.md").write_text("# notes\nnot weights\n")
    with pytest.raises(WeightsError, match=r"\(it is damaged or another kind of file\); use an STTN generator"):
        load_generator(tmp_path / "README.md")
    torch.save(torch.nn.Linear(2, 2), tmp_path / "model.pth")  # a whole module, not a state_dict
    with pytest.raises(WeightsError, match=r"\(it holds Python objects besides tensors, such as a whole pickled model"):
        load_generator(tmp_path / "model.pth")


def test_wrong_keys_named(tmp_path):
    torch.save({"netG": {"foo.weight": torch.zeros(3)}}, tmp_path / "other.pth")
    with pytest.raises(WeightsError, match=r"not an STTN generator: \d+ missing keys .*; 1 unexpected key "
                                           r"\(e\.g\. foo\.weight\); use an STTN generator: the bundled"):
        load_generator(tmp_path / "other.pth")


def test_missing_file(tmp_path):
    with pytest.raises(WeightsError, match="does not exist"):
        load_generator(tmp_path / "nope.pth")


class Evil:
    def __reduce__(self):
        return (exec, ("open('PWNED','w').write('x')",))


def test_loading_never_runs_code(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    torch.save({"netG": Evil()}, tmp_path / "evil.pth")
    with pytest.raises(WeightsError):
        load_generator(tmp_path / "evil.pth")
    assert not (tmp_path / "PWNED").exists()


@pytest.mark.parametrize("mode", ["official", "masked"])
def test_sdpa_kernel_computes_the_same_function(mode):
    torch.manual_seed(3)
    model = InpaintGenerator(tiny_config(attention=mode)).eval()
    x = torch.rand(2, 3, 3, 60, 108) * 2 - 1
    m = torch.zeros(2, 3, 1, 60, 108)
    m[0, :, :, 10:50, 20:90] = 1
    m[1, :, :, :, :] = 1  # every key missing: both kernels must stay finite and agree
    with torch.no_grad():
        a = model(x * (1 - m), m)
        model.set_attention_kernel("sdpa")
        assert model.attention_kernel == "sdpa"
        b = model(x * (1 - m), m)
    assert torch.isfinite(b).all()
    assert (a - b).abs().max() < 1e-5
    with pytest.raises(ValueError, match="kernel"):
        model.set_attention_kernel("flash")


def test_fresh_generator_starts_near_zero_output():
    """The authors' N(0, 0.02) initialisation: a fresh generator predicts mid-grey, far from tanh's
    saturation (PyTorch's default init saturates it once training starts)."""
    torch.manual_seed(0)
    model = InpaintGenerator(tiny_config()).eval()
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert all(abs(float(c.weight.detach().std()) - 0.02) < 0.005 and not c.bias.any() for c in convs)
    x = torch.rand(1, 3, 3, 60, 108) * 2 - 1
    with torch.no_grad():
        out = model(x, torch.zeros(1, 3, 1, 60, 108))
    assert out.abs().max() < 0.1


CHECK_BIG = """
import resource, sys
from app.core.errors import WeightsError
from app.core.sttn.checkpoint import check_generator
check_generator(sys.argv[2])  # (the first check builds torch's meta model: not what is measured)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    check_generator(sys.argv[1])
except WeightsError as exc:
    print("refused", exc)
print("grew_kb", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)
"""


def test_checking_a_big_wrong_file_does_not_read_it(tmp_path):
    """Settings' OK checks a chosen weights file before storing it; a SAM ViT-H checkpoint (2.5 GB)
    chosen by mistake was read whole for that, freezing the dialog for seconds. The tensors are
    mapped now: keys and shapes are checked without reading them. An older (non-zip) file still
    checks, by reading it."""
    import subprocess
    import sys
    from pathlib import Path

    big = tmp_path / "sam_like.pth"
    torch.save({"image_encoder.w": torch.ones(64, 1024, 1024)}, big)  # 256 MiB
    small = tmp_path / "ok.pth"
    save_generator(InpaintGenerator(GeneratorConfig(channels=32, blocks=1, patch_sizes=((27, 15),),
                                                    width=108, height=60)), small)
    root = Path(__file__).resolve().parents[2]
    run = subprocess.run([sys.executable, "-c", CHECK_BIG, str(big), str(small)], capture_output=True, text=True,
                         timeout=300, cwd=root, env={"PYTHONPATH": str(root), "PATH": ""})
    assert run.returncode == 0, run.stderr[-2000:]
    assert "refused" in run.stdout and "not an STTN generator" in run.stdout, run.stdout
    # (mapped: 0 KB here; read whole, the peak grew by 85 MB)
    assert int(run.stdout.split("grew_kb ")[1]) < 16 * 1024, run.stdout

    from app.core.sttn.checkpoint import check_generator
    legacy = tmp_path / "legacy.pth"
    torch.save({"netG": torch.load(small, weights_only=True)["netG"], "meta": checkpoint_meta(small)}, legacy,
               _use_new_zipfile_serialization=False)
    assert check_generator(legacy) == checkpoint_meta(small)
