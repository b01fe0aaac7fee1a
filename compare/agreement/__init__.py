"""Do two results agree? One policy for every comparison the project makes.

- ``tolerances``: the one comparison helper for two arrays, with a tolerance table per dtype (the floor);
- ``envelope``: how far two *correct* implementations drift apart when trained side by side, measured on
  the very problem being compared;
- ``policy``: the verdict on a training run: each step's gap against a small multiple of that envelope plus
  the floor, and where the envelope itself explodes, how far a comparison can say anything at all.

Imports: ``numpy`` and ``scratch`` only: every room above judges with it.
"""
