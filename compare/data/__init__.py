"""The one data pipeline both twins eat: loading, the validated IDX reader, splits, the batch schedule.

- ``load``: the datasets (embedded ``mnist-5k``, full MNIST / Fashion-MNIST from IDX files or torchvision),
  scaled to [-1, 1], split stratified and shuffled; the stratified batch every gradient check uses;
- ``idx``: our own IDX reader (magic number, dimensions, counts; raw or ``.gz``);
- ``seeds``: one independent child stream of the seed per purpose (split, schedule, checked batch);
- ``schedule``: the per-epoch permutations both twins consume.

Imports: NumPy, ``compare.errors`` and ``compare.files``; never torch (torchvision only to download).
"""
