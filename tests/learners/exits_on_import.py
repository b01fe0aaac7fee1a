"""A learner file whose top-level code ends the process: sys.exit(0) must not read as a pass."""
import sys

sys.exit(0)
