"""Pages and figures: the run's report, the check's report, and the renderers they share.

- ``html``: the page model (sections, tables, images, notes, code) and its self-contained HTML renderer;
- ``markdown``: the same page as Markdown;
- ``plots``: every figure (matplotlib, Agg), each a function that returns a ``Figure``;
- ``run_page``, ``dtypes``: the run report built from ``metrics.json``; ``run_files`` writes it with its figures;
- ``check_page``, ``check_files``: the report of ``mlp-compare check``.
- ``summary_page``: ``summary.html`` of ``mlp-compare check DIR``, one row per file.

Imports: the lower rooms (data, twins, gradcheck, learner) and ``compare.lesson`` (the run writes its lesson).
"""
