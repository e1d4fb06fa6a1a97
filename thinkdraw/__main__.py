import sys

from thinkdraw.cli import main

sys.exit(main())
