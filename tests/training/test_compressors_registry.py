"""The compressor registry: names, defaults, and every ScenarioError path."""

import inspect

import pytest

from netsim.exceptions import ScenarioError
from netsim.training.compression import (
    COMPRESSORS,
    DGC,
    QSGD,
    ErrorFeedback,
    PowerSGD,
    RandomK,
    TernGrad,
    Threshold,
    TopK,
    compressor_names,
    make_compressor,
)

ALL = [
    "bf16",
    "dgc",
    "ef_signsgd",
    "fp16",
    "none",
    "onebit",
    "powersgd",
    "qsgd",
    "randomk",
    "signsgd",
    "terngrad",
    "threshold",
    "topk",
]


def test_names_and_defaults():
    assert compressor_names() == ALL
    assert make_compressor("topk").ratio == 0.01
    assert make_compressor("qsgd").levels == 127
    assert make_compressor("terngrad").clip == 2.5
    assert make_compressor("randomk").scaled is True
    dgc = make_compressor("dgc")
    assert (dgc.sparsity, dgc.momentum, dgc.clip_norm, dgc.warmup_steps) == (0.999, 0.9, None, 0)
    psgd = make_compressor("powersgd")
    assert (psgd.rank, psgd.warm_start, psgd.error_feedback, psgd.min_compression_rate) == (
        1,
        True,
        True,
        2.0,
    )
    assert make_compressor("powersgd", error_feedback=False).error_feedback is False
    for name in ALL:
        info = COMPRESSORS[name]
        assert info.description
        assert {"error_feedback", "value_bytes", "scope", "wire"} <= set(info.params())
    assert COMPRESSORS["threshold"].params()["threshold"] is inspect.Parameter.empty


def test_error_feedback_option():
    wrapped = make_compressor("qsgd", levels=16, error_feedback=True)
    assert (
        isinstance(wrapped, ErrorFeedback)
        and isinstance(wrapped.inner, QSGD)
        and wrapped.name == "qsgd+ef"
    )
    assert isinstance(make_compressor("topk", error_feedback=False), TopK)
    assert isinstance(
        make_compressor("dgc", error_feedback=True), DGC
    )  # built in: accepted, no wrapper
    assert make_compressor("ef_signsgd", error_feedback=True).name == "ef_signsgd"
    g = make_compressor("randomk", ratio=0.5, scope="global", value_bytes=8)
    assert isinstance(g, RandomK) and g.scope == "global" and g.value_bytes == 8


def _error(name, **params):
    with pytest.raises(ScenarioError) as info:
        make_compressor(name, **params)
    return str(info.value)


def test_unknown_method():
    message = _error("tpok")
    assert message.startswith(
        "training.compression.method: unknown compressor 'tpok' (did you mean 'topk'?)"
    )
    assert "accepted: " + ", ".join(ALL) in message
    assert _error(None).startswith("training.compression.method: unknown compressor None")
    assert "did you mean" not in _error("zzz")


def test_unknown_and_missing_parameters():
    message = _error("qsgd", ratio=0.1)
    assert message.startswith(
        "training.compression.ratio: not an option of compressor 'qsgd'; accepted: levels, "
    )
    assert (
        _error("threshold") == "training.compression.threshold: required by compressor 'threshold'"
    )
    assert "not an option" in _error("none", levels=3)


BAD = [
    ("topk", "ratio", 0, "(0, 1]"),
    ("topk", "ratio", 1.5, "(0, 1]"),
    ("topk", "ratio", "0.1", "(0, 1]"),
    ("topk", "ratio", True, "(0, 1]"),
    ("topk", "ratio", float("nan"), "(0, 1]"),
    ("topk", "index_bytes", 2, "one of 4, 8"),
    ("topk", "value_bytes", 2, "one of 4, 8"),
    ("topk", "scope", "local", "one of layerwise, global"),
    ("randomk", "ratio", -0.1, "(0, 1]"),
    ("randomk", "scaled", "yes", "true or false"),
    ("threshold", "threshold", -1.0, "[0, inf)"),
    ("qsgd", "levels", 0, "[1, 32767]"),
    ("qsgd", "levels", 40000, "[1, 32767]"),
    ("qsgd", "levels", 2.5, "[1, 32767]"),
    ("terngrad", "clip", -1.0, "> 0"),
    ("terngrad", "clip", "x", "> 0"),
    ("dgc", "sparsity", 1.0, "[0, 1)"),
    ("dgc", "momentum", 1.0, "[0, 1)"),
    ("dgc", "clip_norm", -2.0, "> 0"),
    ("dgc", "warmup", [0.5, 1.0], "list of numbers in [0, 1)"),
    ("dgc", "warmup", "0.5", "list of numbers in [0, 1)"),
    ("dgc", "warmup_steps", -1, ">= 0"),
    ("dgc", "index_bytes", 16, "one of 4, 8"),
    ("powersgd", "rank", 0, ">= 1"),
    ("powersgd", "warm_start", 1, "true or false"),
    ("powersgd", "error_feedback", "true", "true or false"),
    ("powersgd", "min_compression_rate", -1.0, "[0, inf)"),
    ("powersgd", "start_step", -3, ">= 0"),
    ("signsgd", "scope", None, "one of layerwise, global"),
    ("bf16", "value_bytes", 4.5, "one of 4, 8"),
    ("fp16", "error_feedback", "no", "true or false"),
    ("topk", "wire", "packed", "one of sent, ideal"),
]


@pytest.mark.parametrize(
    ("name", "param", "value", "accepted"), BAD, ids=[f"{n}-{p}-{v!r}" for n, p, v, _ in BAD]
)
def test_invalid_values_name_the_field(name, param, value, accepted):
    params = {"threshold": 0.1} if name == "threshold" and param != "threshold" else {}
    message = _error(name, **params, **{param: value})
    assert message.startswith(f"training.compression.{param}: ")
    assert accepted in message and repr(value).strip("'") in message


@pytest.mark.parametrize("name", ["dgc", "ef_signsgd", "onebit"])
def test_builtin_error_feedback_cannot_be_turned_off(name):
    message = _error(name, error_feedback=False)
    assert (
        message
        == f"training.compression.error_feedback: {name} has error feedback built in; it cannot be turned off"
    )


def test_custom_field_names():
    with pytest.raises(ScenarioError, match=r"^training\.compressor: unknown compressor 'x'"):
        make_compressor("x", method_field="training.compressor")
    with pytest.raises(ScenarioError, match=r"^training\.compressor_ratio: must be"):
        make_compressor("topk", ratio=9, param_field="training.compressor_{}")
    with pytest.raises(ScenarioError, match=r"^training\.compressor_bogus: not an option"):
        make_compressor("topk", bogus=1, param_field="training.compressor_{}")
    with pytest.raises(ScenarioError, match=r"^training\.compressor_threshold: required"):
        make_compressor("threshold", param_field="training.compressor_{}")


def test_direct_construction_raises_scenario_errors_too():
    for build in (
        lambda: TopK(0),
        lambda: Threshold(-1),
        lambda: TernGrad(clip=-1),
        lambda: PowerSGD(0),
        lambda: DGC(warmup=[2.0]),
        lambda: ErrorFeedback(TopK(), lr=0),
    ):
        with pytest.raises(ScenarioError, match=r"^training\.compression\."):
            build()
    # 0 switches optional clipping off
    assert TernGrad(clip=0).clip is None and DGC(clip_norm=0).clip_norm is None
