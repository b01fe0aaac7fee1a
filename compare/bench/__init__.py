"""How fast, fairly: both twins at equal thread counts beside the BLAS floor and the NumPy limit.

- ``config``: the bench's settings; ``epochs``: the work timed (the BLAS floor is the epoch's matrix
  products alone, the least any implementation on this machine's BLAS can take for the arithmetic);
- ``timing``: round-robin timing of each cell; ``ratios``: the paired ratios and the targets they meet;
- ``memory``: each twin's peak memory, probed in a child process; ``bench``: the whole benchmark;
- ``numpy_limit``: the scratch training step with every array preallocated and no checks;
- ``evaluation``: one evaluation per twin against its forward products alone, in NumPy and in torch;
- ``run_cost``: the whole default run and its plain script (``plain_run``) in fresh processes, and the
  twins in the run's lockstep loop against the same twins alone;
- ``folder_cost``: ``check DIR`` over a class folder of correct files against ``check FILE`` on one.

Imports: ``scratch``, ``torch_impl``, ``compare.config``, ``compare.data``, ``compare.twins`` and
``compare.lesson`` (the exercise's answer, as the folder's files).
"""
