import sys

from hyperion_grader.cli import main

sys.exit(main())
