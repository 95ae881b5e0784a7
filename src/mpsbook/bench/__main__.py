import sys

from mpsbook.bench.cli import main

sys.exit(main())
