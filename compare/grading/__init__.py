"""Grading many learners' files: a folder of submissions, each in its own worker, judged in this process.

- ``folder_run``: ``mlp-compare check DIR``: every file's verdict kept in memory, every file written by the
  checker, at the end, atomically.
"""
