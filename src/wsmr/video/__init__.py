"""Raw video to C3D fc7: decoding (PyAV), the C3D network and its weights, sharded extraction."""
