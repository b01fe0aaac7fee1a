"""A learner's own NumPy MLP, checked against its PyTorch twin: ``mlp-compare check my_mlp.py``.

What lives here, one concept per module:
- ``source``: a learner's file or notebook as Python text, its lines named as they know them (notebook cells);
- ``definitions``: the class and what it uses, found from the source; the script around it is not run;
- ``load``: load ``PATH.py[:NAME]``, ``PATH.ipynb[:NAME]`` (in a worker) or ``MODULE[:NAME]`` and find the class
  with ``forward`` and ``backward``;
- ``blame``: whose fault an error is; the learner's exceptions as one line with their file and line;
- ``adapt``, ``book``, ``project``: build the class and see it through the ``scratch.MLP`` contract (the
  book's ``NeuralNetMLP`` shape, weights (out, in) or (in, out); or the contract itself);
- ``returns``: what their methods return, checked (arity, arrays, shapes, NaN);
- ``contract``, ``mistakes``, ``purity``: forward, intermediates, the three-opinion gradient check in their
  names, the learners' own mistakes, purity and repeatability;
- ``train``: their class trained in lockstep with the twin and ``optim.SGD``;
- ``result``, ``check``: the ``CheckReport`` and ``check_backprop`` / ``assert_backprop_matches``.
- ``folder``: a folder of learners' submissions (files, notebooks, one learner's sub-folder) and their rows.

The check's pages are in ``compare.report`` (``check_page``, ``check_files``), which builds on this room.
Imports: ``scratch``, ``torch_impl`` and the rooms below this one (``compare.data``, ``compare.twins``,
``compare.gradcheck``, ``compare.files``, ``compare.errors``). Never ``report``, ``cli`` or ``run``.
"""

from .blame import CannotCheck, LearnerRaised
from .check import assert_backprop_matches, check_backprop
from .load import load_target
from .result import CheckReport

__all__ = ["CannotCheck", "CheckReport", "LearnerRaised", "assert_backprop_matches", "check_backprop", "load_target"]
