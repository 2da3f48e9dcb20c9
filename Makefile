# femqled entry points. Everything runs through scripts/femqled-env: natively where python3 has DOLFINx >= 0.9,
# otherwise in a Debian 13 root filesystem it builds once per machine (see README).
ENV     := scripts/femqled-env
NP      ?= 2
CASE    ?= cases/default.toml
FINE_CASE ?= cases/fine.toml
ARGS    ?=

.PHONY: demo test test-latest bench paper paper-fine docker env clean-meshes help

help:
	@echo "make demo         the default case on $(NP) MPI ranks (results in results/default/)"
	@echo "make test         the whole suite, serial and under mpirun -n 2, then the ParaView (pvbatch) check"
	@echo "make bench        benchmarks -> bench/results.json"
	@echo "make paper        the study's figures and results/paper/REPORT.md (simulated vs measured)"
	@echo "make paper-fine   the same with the publication-quality discretisation (femqled/quality.py) on"
	@echo "                  cases/fine.toml (the default calibrated at those settings); hours:"
	@echo "                  resumes (--resume: finished lifetime tests and measurement stages reused, an"
	@echo "                  interrupted lifetime test continued)"
	@echo "                  ARGS=... adds options to either (e.g. make paper ARGS=--resume)"
	@echo "make test-latest  the suite against DOLFINx 0.11 (Debian sid root filesystem)"
	@echo "make docker       build the Docker image (needs a Docker engine)"

env:
	$(ENV) python3 -c "import dolfinx; print('DOLFINx', dolfinx.__version__)"

demo:
	$(ENV) mpirun -n $(NP) python3 -m femqled demo $(CASE)

test:
	$(ENV) bash scripts/run-tests
	scripts/run-paraview-check

test-latest:
	FEMQLED_ENV_FLAVOUR=sid $(ENV) bash scripts/run-tests

bench:
	$(ENV) bash scripts/run-bench

paper:
	$(ENV) mpirun -n $(NP) python3 -m femqled paper $(CASE) --out results/paper $(ARGS)

paper-fine:
	$(ENV) mpirun -n $(NP) python3 -m femqled paper $(FINE_CASE) --fine --resume --out results/paper-fine $(ARGS)

docker:
	@if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then \
	  docker build -t femqled . ; \
	else \
	  echo "make docker: no Docker engine is running here; on a machine with Docker run: docker build -t femqled ." ; \
	fi

clean-meshes:
	rm -f meshes/*.msh meshes/*.json meshes/*.lock
