import torch
import torch.nn as nn

from app.core.sttn.discriminator import Discriminator


def test_output_shape_five_frames_full_size():
    d = Discriminator().eval()
    with torch.no_grad():
        out = d(torch.zeros(1, 5, 3, 240, 432))
    assert out.shape == (1, 5, 256, 4, 7)


def test_layers_match_table5():
    d = Discriminator()
    convs = [m for m in d.conv if isinstance(m, nn.Conv3d)]
    assert [c.out_channels for c in convs] == [64, 128, 256, 256, 256, 256]
    assert all(c.kernel_size == (3, 5, 5) and c.stride == (1, 2, 2) for c in convs)
    assert convs[0].padding == (1, 1, 1) and all(c.padding == (1, 2, 2) for c in convs[1:])
    # spectral norm (weight_orig) and no bias on the first five; plain conv with bias last
    assert all(hasattr(c, "weight_orig") and c.bias is None for c in convs[:5])
    assert not hasattr(convs[5], "weight_orig") and convs[5].bias is not None
    acts = [m for m in d.conv if isinstance(m, nn.LeakyReLU)]
    assert len(acts) == 5 and all(a.negative_slope == 0.2 for a in acts)
    assert isinstance(d.conv[-1], nn.Conv3d)


def test_flat_input_and_samples_do_not_mix():
    torch.manual_seed(0)
    d = Discriminator(base_channels=8).eval()
    x = torch.randn(2, 3, 3, 64, 64)
    with torch.no_grad():
        a = d(x)
        b = d(x.reshape(6, 3, 64, 64), b=2)
        y = x.clone()
        y[1] = torch.randn(3, 3, 64, 64)
        c = d(y)
    assert a.shape == (2, 3, 32, 1, 1)
    assert torch.equal(a, b)
    assert torch.equal(a[0], c[0]) and not torch.equal(a[1], c[1])
