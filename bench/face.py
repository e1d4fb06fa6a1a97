"""Face analysis and rig benchmark: analysis latency, rig forward/inverse speed and round-trip error.

Run: .venv/bin/python bench/face.py   (the implementation lives in thinkdraw/face/bench.py)
"""

from thinkdraw.face.bench import main

if __name__ == "__main__":
    main()
