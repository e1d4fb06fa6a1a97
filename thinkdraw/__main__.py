from thinkdraw.cli import run

run()
