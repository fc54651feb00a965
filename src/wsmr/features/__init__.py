"""Features: the HDF5 store, PCA of C3D fc7 (fit on training videos), pre-extracted files,
probes."""
