"""The GPU path, exercised on the CPU: TF32 switched off and recorded, the bench's device cell, the report's words.

No GPU is needed: what would differ on one (the device name, TF32 actually mattering) is given by hand.
"""

import subprocess
import sys

import pytest
import torch

from compare.bench.config import BenchConfig
from compare.bench.timing import device_cell
from compare.report.run_page import numerics_sentence
from compare.twins.numerics import exact_float32, numerics


@pytest.fixture
def tf32_flags():
    """Leave torch's global TF32 flags as this test found them."""
    before = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    yield
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = before


def test_exact_float32_turns_tf32_off_for_products_and_cudnn(tf32_flags):
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
    exact_float32()
    n = numerics(torch.device("cpu"))
    assert (n["device"], n["gpu"], n["cuda_matmul_allow_tf32"], n["cudnn_allow_tf32"]) == ("cpu", None, False, False)
    assert n["cuda_matmul_fp32_precision"] == "ieee"
    assert n["float32_matmul_precision"] == torch.get_float32_matmul_precision()
    assert n["deterministic_algorithms"] is torch.are_deterministic_algorithms_enabled()


@pytest.mark.parametrize("on", [True, False])
def test_numerics_records_what_is_in_force(tf32_flags, on):
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = on
    n = numerics(torch.device("cpu"))
    assert (n["cuda_matmul_allow_tf32"], n["cudnn_allow_tf32"]) == (on, on)


def test_recording_never_raises_where_torch_refuses_to_answer():
    """Reading a legacy flag raises once the newer per-operator settings disagree; the record says unknown."""
    code = ("import torch\nfrom compare.twins.numerics import numerics\n"
            "torch.backends.cudnn.conv.fp32_precision = 'ieee'\ntorch.backends.cudnn.rnn.fp32_precision = 'tf32'\n"
            "n = numerics(torch.device('cpu'))\nprint(n['cudnn_allow_tf32'], n['cudnn_conv_fp32_precision'])")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["None", "ieee"]


def test_the_report_says_which_settings_a_gpu_twin_ran_under():
    gpu = {"device": "cuda:0", "gpu": "NVIDIA H200", "cuda_matmul_allow_tf32": False, "cudnn_allow_tf32": None,
           "float32_matmul_precision": "highest", "deterministic_algorithms": False}
    said = numerics_sentence(gpu)
    assert "`cuda:0` (NVIDIA H200) with TF32 off for matrix products" in said and "unknown for cuDNN" in said
    assert "deterministic algorithms off." in said
    assert numerics_sentence({**gpu, "cudnn_allow_tf32": True}).count("on for cuDNN") == 1
    assert numerics_sentence({**gpu, "device": "cpu", "gpu": None}) == ""  # nothing of it changes a CPU result
    assert numerics_sentence(None) == ""  # metrics written before this was recorded


def test_the_bench_times_the_twin_on_a_device(tmp_path):
    config = BenchConfig.quick(reps=1)
    cell = device_cell([784, 20, 10], 500, 100, "float32", config, "cpu")
    assert cell["device"] == "cpu" and cell["steps"] == 5 and set(cell["times"]) == {"torch"}
    assert cell["torch_s"] > 0 and cell["torch_gflops"] == pytest.approx(cell["flops"] / cell["torch_s"] / 1e9)
