"""The bridge lesson: each step of the book's NumPy MLP beside its PyTorch counterpart, measured.

- ``pages``: the lesson's steps, quoted from the live source with ``inspect``, as HTML and Markdown;
- ``measure``: the lesson's data and twins, and the order its steps are measured in;
- ``steps``: one function per step, measuring its agreement on real digits;
- ``notebook``: notebooks as files (nbformat), quoting cells and ``stale_cells``;
- ``lesson_notebook``: ``lesson.ipynb``, the steps as cells that run, each with a check cell (``agree``);
- ``exercise_notebook`` and ``grade``: ``exercise.ipynb`` and the checks that grade its cells in words;
- ``execute``: running a notebook with nbclient (the ``notebook`` extra).

Imports: the lower rooms and the renderers ``compare.report.html`` / ``compare.report.markdown``.
"""
