"""The learner's code in a worker process: only data crosses, the checker makes every verdict.

- ``serve``: the worker itself, a standalone script (the standard library and numpy only) and the
  message framing both sides use: a JSON header and ``.npy`` arrays, bounded, never unpickled;
- ``workspace``: the worker's private folder: a copy of its submission and the texts the checker writes there;
- ``client``: the checker's side: limits, namespaces where available, deadlines, the end.
"""
