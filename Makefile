# `sam build` runs build-GraphqlFunction (template.yaml: Metadata BuildMethod makefile) with
# ARTIFACTS_DIR set; .ci/run runs it the same way. The function gets the dependencies and the
# package, never tests/, benchmarks/ or .ci/. LAMBDA_PYTHON is the runtime's Python version:
# binary wheels (pydantic-core, jiter) are chosen for it, not for the building machine.
LAMBDA_PYTHON ?= 3.12
PYTHON ?= python3

# Every function ships the same artifact (one package, several handlers).
build-GraphqlFunction build-RunQueueFunction:
	$(PYTHON) -m pip install --quiet --requirement requirements.txt --target "$(ARTIFACTS_DIR)" \
		--platform manylinux2014_x86_64 --implementation cp --python-version $(LAMBDA_PYTHON) \
		--only-binary=:all: --upgrade
	$(PYTHON) -m pip install --quiet --no-deps --target "$(ARTIFACTS_DIR)" --upgrade .
	rm -rf "$(ARTIFACTS_DIR)"/bin

.PHONY: build-GraphqlFunction build-RunQueueFunction
