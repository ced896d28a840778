"""Export of the renderer for other runtimes: ONNX (self-verifying), TensorRT plans, Triton repositories.

Export lives beside the model, never inside it: these functions take a built ``nn.Module`` and its
example inputs; the engines in ``lipsync_engine.engines`` run what they write.
"""
