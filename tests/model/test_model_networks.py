"""The generator's networks: shapes, the untouched-outside-the-mask guarantee, and learning on a fixed batch."""
from __future__ import annotations

import torch

from lipsync_engine.model import GeneratorConfig, MotionConfig, RendererConfig, build_renderer, renderer_example_inputs
from lipsync_engine.model.audio_motion import build_audio_motion
from lipsync_engine.model.discriminator import build_patch_discriminator
from lipsync_engine.model.renderer import count_flops_per_frame

SMALL = RendererConfig(widths=(8, 8, 12, 12, 16))


def test_renderer_output_shape_range_and_passthrough_outside_mask() -> None:
    model = build_renderer(SMALL).eval()
    inputs = renderer_example_inputs(SMALL, batch=3)
    inputs["mask"] = torch.zeros_like(inputs["mask"])
    inputs["mask"][:, :, 120:170, 60:130] = 1.0
    with torch.no_grad():
        out = model(**inputs)
    assert out.shape == (3, 3, SMALL.crop_size, SMALL.crop_size)
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0
    outside = (inputs["mask"] == 0).expand_as(out)
    assert torch.equal(out[outside], inputs["target"][outside])
    assert not torch.equal(out[~outside], inputs["target"][~outside])


def test_example_inputs_follow_forward_order_and_config() -> None:
    config = RendererConfig(references=2)
    inputs = renderer_example_inputs(config, batch=2)
    assert list(inputs) == ["target", "mask", "shape", "reference"]
    assert inputs["reference"].shape == (2, 6, 192, 192)
    assert inputs["shape"].shape == (2, config.shape_channels, 192, 192)


def test_default_renderer_size_and_flops_are_what_docs_say() -> None:
    model = build_renderer(RendererConfig())
    params = sum(p.numel() for p in model.parameters())
    assert 1.0e6 < params < 3.0e6  # docs/model.md: 1.64 M parameters
    assert 1.5e9 < count_flops_per_frame(model) < 3.5e9  # docs/model.md: 2.4 GFLOPs per frame


def test_region_that_does_not_divide_is_refused() -> None:
    try:
        build_renderer(RendererConfig(region_top=81))
    except ValueError as exc:
        assert "divisible" in str(exc)
    else:
        raise AssertionError("a 111-row region must be refused")


def test_audio_motion_and_discriminator_shapes() -> None:
    config = MotionConfig(code_dim=7)
    motion = build_audio_motion(config)
    assert motion(torch.zeros(5, 80, config.mel_window)).shape == (5, 7)
    disc = build_patch_discriminator(5)
    assert disc(torch.zeros(2, 5, 112, 192)).shape == (2, 1, 14, 24)


def test_config_json_round_trip() -> None:
    config = GeneratorConfig(name="x", renderer=SMALL, motion=MotionConfig(code_dim=6))
    assert GeneratorConfig.from_json(config.to_json()) == config


def test_a_few_training_steps_reduce_the_loss_on_a_fixed_batch() -> None:
    torch.manual_seed(0)
    config = RendererConfig(crop_size=96, region_top=48, widths=(8, 8, 12, 12, 16))
    model = build_renderer(config)
    inputs = renderer_example_inputs(config, batch=2)
    ref = inputs["reference"].clamp(0.01, 0.99)
    truth = torch.sigmoid(torch.log(ref / (1 - ref)) + 1.0)  # a brighter reference: learnable
    inputs["mask"] = torch.ones_like(inputs["mask"])
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(30):
        loss = (model(**inputs) - truth)[:, :, config.region_top:].abs().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss))
    assert losses[-1] < 0.5 * losses[0], losses
