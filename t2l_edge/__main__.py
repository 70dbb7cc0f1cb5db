"""`python -m t2l_edge ...` (what torchrun launches): the same CLI as `t2l-edge`."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
