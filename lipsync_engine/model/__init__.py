"""The learned generator's networks: pure nn.Modules built by factory functions, plus their config."""
from lipsync_engine.model.config import GeneratorConfig, MotionConfig, RendererConfig
from lipsync_engine.model.renderer import build_renderer, renderer_example_inputs

__all__ = ["GeneratorConfig", "MotionConfig", "RendererConfig", "build_renderer", "renderer_example_inputs"]
