"""Two CPU processes (Gloo, DistributedDataParallel) keep identical replicas."""
import pytest
import torch

from app.core.train import TrainConfig, Trainer
from app.core.train.ddp import run_local


# The test machine is shared: one intra-op thread avoids oversubscription (10x faster here).
pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _worker(rank, cfg, out_dir):
    tr = Trainer(TrainConfig.from_dict(cfg))
    assert tr.ctx.world_size == 2 and tr.ctx.rank == rank
    tr.run()
    torch.save({"G": tr.G.state_dict(), "D": tr.D.state_dict(), "sampler": tr.sampler.state_dict()},
               f"{out_dir}/rank{rank}.pt")


def test_two_gloo_processes_stay_identical(tmp_path, make_clip):
    clip = make_clip(n=8, width=96, height=64)
    cfg = TrainConfig(data=[str(clip)], workdir=str(tmp_path / "w"), steps=3, channels=16, blocks=1,
                      patch_sizes=[[8, 4], [4, 2]], width=64, height=32, sample_frames=3, disc_channels=8,
                      checkpoint_every=0, val_every=0, lr=1e-3, device="cpu")
    # fork: the children need not import torch again (slow on a loaded machine); not once this
    # process has run CUDA's autograd (earlier tests on a GPU host), whose threads a fork cannot copy
    run_local(_worker, 2, cfg.to_dict(), str(tmp_path),
              start_method="spawn" if torch.cuda.is_initialized() else "fork")
    a = torch.load(tmp_path / "rank0.pt", weights_only=True)
    b = torch.load(tmp_path / "rank1.pt", weights_only=True)
    for net in ("G", "D"):
        assert all(torch.equal(a[net][k], b[net][k]) for k in a[net]), net
    assert a["sampler"] != b["sampler"]  # each rank drew its own batches
    ckpt = torch.load(tmp_path / "w" / "checkpoints" / "last.pt", weights_only=True)
    assert ckpt["step"] == 3 and len(ckpt["rng"]) == 2
    fresh = Trainer(TrainConfig.from_dict({**cfg.to_dict(), "workdir": str(tmp_path / "x")}))
    assert any(not torch.equal(fresh.G.state_dict()[k], a["G"][k]) for k in a["G"])  # it did train
