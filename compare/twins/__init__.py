"""The two twins side by side: built from one spec, one set of weights, trained in lockstep.

- ``lockstep``: ``make_twins``, ``lockstep_train`` (both twins on one batch schedule, every epoch
  evaluated, the weight gap recorded), divergence and Ctrl-C handling, test-set predictions;
- ``transfer``: weights from one twin to the other (a copy, never a transpose);
- ``weights``: saving and loading both twins' final weights;
- ``health``: did training learn anything (saturation, chance level);
- ``threads``: one thread count for NumPy's BLAS and torch;
- ``rerun``: the same run in the other float type (``--compare-dtypes``).

Imports: ``scratch``, ``torch_impl``, ``compare.data`` and the modules every room uses.
"""
