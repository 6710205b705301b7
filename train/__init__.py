"""The Keras-like training API (Sequential, Functional, layers, autodiff, fit). Not built yet: no issue covers it.

Nothing here is importable on purpose, so code cannot mistake a stub for the real thing.
"""
