"""Pretrained generators: safetensors round trip (float16), generate(n, seed), bad files."""

import pytest
import torch
from safetensors.torch import save_file

import toygan
from toygan import presets
from toygan.hub import export, pretrained
from toygan.io import FileError


@pytest.mark.parametrize("name", ["goodfellow2014", "modern"])
def test_export_then_load_generates_pixels(tmp_path, name):
    torch.manual_seed(0)
    G, _ = presets.build_models(name)
    path = export(G.state_dict(), name, tmp_path, metadata={"epoch": 7})
    model = toygan.pretrained(name, weights_dir=tmp_path)
    assert path.name == f"{name}.safetensors" and model.metadata["epoch"] == "7"
    assert model.metadata["dtype"] == "float16" and not model.training
    for (k, v), w in zip(G.state_dict().items(), model.G.state_dict().values(), strict=True):
        assert w.dtype == torch.float32, k
        torch.testing.assert_close(w, v.half().float(), rtol=0, atol=0)
    x = model.generate(5, seed=3)
    assert x.shape == (5, 784) and x.dtype == torch.float32
    assert 0.0 <= x.min() and x.max() <= 1.0
    torch.testing.assert_close(x, model.generate(5, seed=3))  # a function of the seed
    assert not torch.equal(x, model.generate(5, seed=4))


def test_missing_corrupt_and_wrong_weights_name_the_file(tmp_path):
    with pytest.raises(FileError, match="no pretrained weights"):
        pretrained("modern", weights_dir=tmp_path)
    (tmp_path / "modern.safetensors").write_bytes(b"not safetensors")
    with pytest.raises(FileError, match="not a readable safetensors"):
        pretrained("modern", weights_dir=tmp_path)
    save_file({"w": torch.zeros(2)}, str(tmp_path / "modern.safetensors"))
    with pytest.raises(FileError, match="does not fit"):
        pretrained("modern", weights_dir=tmp_path)
    with pytest.raises(ValueError, match="unknown preset"):
        pretrained("nope", weights_dir=tmp_path)
