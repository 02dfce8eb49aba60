# The two commands of the README. Both set up what they need first, so they work on a fresh machine.
VENV ?= .venv

.PHONY: run test package
run:  ## set up the app (no torch) and open it on the bundled demo library
	VENV=$(VENV) installer/setup.sh runtime
	$(VENV)/bin/python main.py --demo

test:  ## set up the dev tools (incl. torch==2.13.0) and run the whole test suite
	VENV=$(VENV) installer/setup.sh dev
	$(VENV)/bin/python -m pytest

package:  ## build the one-folder desktop app and its tarball in dist/ (PyInstaller, from a fresh runtime venv)
	installer/build.sh
