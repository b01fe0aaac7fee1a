"""Is a manual backprop right, and if not, what is wrong? The three-opinion check and its diagnosis.

- ``check``: ``check_gradients`` (autograd, finite differences, directional derivatives) and its report;
- ``finite_differences``: the fourth-order stencil (the derivative from L at w-2h, w-h, w+h, w+2h, exact
  for polynomials up to degree four) and the probes of disputed coordinates;
- ``diagnosis``, ``mistakes``: what a failing check means, in words, naming the parameter;
- ``teaching``: the textbook backward in small overridable steps; ``mutants*``: the gallery of classic mistakes.

Imports: ``scratch``, ``torch_impl``, ``compare.data``, ``compare.agreement`` (the tolerances) and
``compare.twins.transfer``.
"""
