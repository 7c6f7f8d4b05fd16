"""Our .safetensors format: round trip, provenance, and content sniffing."""

import struct
from pathlib import Path

import pytest
import torch

from explorer.errors import NotAModel
from explorer.formats import detect_format, load_model, native, read_model_data

FIXTURES = Path(__file__).parent / "fixtures" / "nvidia"


def test_round_trip_keeps_tensors_config_and_provenance(tmp_path):
    data = read_model_data(FIXTURES / "sg3t-32.pkl")
    out = tmp_path / "m.safetensors"
    provenance = {"source_file": "sg3t-32.pkl", "sha256": "ab" * 32, "source_format": "nvidia-pickle"}
    native.write(out, {"G_ema": (data.config, data.tensors)}, provenance)
    again = read_model_data(out)
    assert again.config == data.config and again.provenance == provenance
    assert set(again.tensors) == set(data.tensors)
    assert all(torch.equal(again.tensors[k], data.tensors[k].float()) for k in data.tensors)
    assert load_model(out).generator.num_ws == 16


def test_header_length_ending_in_0x80_is_still_native(tmp_path):
    header = b'{"__metadata__":{"format":"x"}}'
    header += b" " * (0x180 - len(header))  # u64 length 0x180: its first byte is 0x80, a pickle opcode
    path = tmp_path / "odd.safetensors"
    path.write_bytes(struct.pack("<Q", len(header)) + header)
    assert detect_format(path) == "native"


def test_foreign_safetensors_is_not_a_model(tmp_path):
    from safetensors.torch import save_file

    path = tmp_path / "weights.safetensors"
    save_file({"w": torch.zeros(2)}, str(path))
    with pytest.raises(NotAModel) as info:
        load_model(path)
    assert "weights.safetensors" in str(info.value)
