"""Exports a deployment team can use: ONNX and TorchScript files checked against PyTorch, and model cards."""
