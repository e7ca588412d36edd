# Precis build. `make` builds everything into build/; `make test` and
# `make demo` install missing Debian packages first (scripts/deps.sh).
# SANITIZE=address,undefined builds into build/san-<list>/ with sanitizers.
# FAISS_PREFIX=/path links a real libfaiss_c from there (see scripts/faiss-config.sh).

SHELL := /bin/bash
comma := ,
O ?= build
ifneq ($(SANITIZE),)
O := build/san-$(subst $(comma),-,$(SANITIZE))
SANFLAGS := -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=undefined
endif

CC ?= cc
CXX ?= g++
OPT ?= -O2
FAISS_MODE := $(shell scripts/faiss-config.sh mode $(FAISS_PREFIX))
FAISS_CFLAGS := $(shell scripts/faiss-config.sh cflags $(FAISS_PREFIX))
FAISS_LIBS := $(shell scripts/faiss-config.sh libs $(FAISS_PREFIX))
FAISS_DESC := $(shell scripts/faiss-config.sh desc $(FAISS_PREFIX))

WARN := -Wall -Wextra -Werror
# Layering (issue 12): each library sees only the headers it may use, so an
# include across a forbidden boundary fails the build. common/ (status,
# byte order, checksum, files, log, names) is below everything; the engine
# knows no protobuf; the CLI knows only the public API.
INC_COMMON := -Iinclude -Icommon
# the engine by subsystem (index/<part>/): core (engine, collections, index
# upkeep), store (RocksDB, on-disk format, payloads, id maps), ann (FAISS),
# graph, retrieve (retrieval, selection, parameters), filter
INDEX_PARTS := core store ann graph retrieve filter
INC_INDEX := $(addprefix -Iindex/,$(INDEX_PARTS))
INC_ENGINE := $(INC_COMMON) $(INC_INDEX)
INC_WIRE := $(INC_COMMON) -Iproto -I$(O)/gen
INC_CLIENT := $(INC_WIRE) -Iclient/lib
INC_CLI := $(INC_COMMON) -Iclient/cli
INC_ALL := $(INC_COMMON) $(INC_INDEX) -Iproto -I$(O)/gen
INC = $(INC_ALL)
CFLAGS := -std=c11 -D_GNU_SOURCE $(OPT) -g $(WARN) -fPIC -pthread -MMD -MP $(SANFLAGS) $(EXTRA_CFLAGS)
CXXFLAGS := -std=c++17 $(OPT) -g $(WARN) $(FAISS_CFLAGS) -fPIC -pthread -fopenmp -MMD -MP $(SANFLAGS)
CFLAGS += -DPRECIS_FAISS_DESC='"$(FAISS_DESC)"' -DPRECIS_BUILD_DIR='"$(O)"'
CXXFLAGS += -DPRECIS_FAISS_DESC='"$(FAISS_DESC)"'
LDFLAGS := -pthread $(SANFLAGS)
SYSLIBS := -lrocksdb -ljansson -luring -lprotobuf-c -lroaring $(FAISS_LIBS) -lm -lstdc++

# ---- sources ----
PROTO_GEN_C := $(O)/gen/precis.pb-c.c
PROTO_GEN_H := $(O)/gen/precis.pb-c.h
COMMON_SRC := $(wildcard common/*.c)
WIRE_SRC := $(wildcard proto/*.c)
ENGINE_SRC := $(wildcard index/*/*.c)
ENGINE_CXX := $(filter-out index/ann/faiss_compat.cpp,$(wildcard index/*/*.cpp))
ifeq ($(FAISS_MODE),compat)
ENGINE_CXX += index/ann/faiss_compat.cpp
endif
CLIENT_SRC := $(wildcard client/lib/*.c)
CLI_SRC := $(wildcard client/cli/*.c)
SERVER_SRC := $(wildcard server/*.c)
BENCH_SRC := $(wildcard bench/*.c)
BENCH_CXX := $(wildcard bench/*.cpp)
TEST_SRC := $(wildcard tests/unit/test_*.c tests/integration/test_*.c)
TEST_SUPPORT := $(wildcard tests/support/*.c)

obj = $(patsubst %.c,$(O)/obj/%.o,$(patsubst %.cpp,$(O)/obj/%.o,$(1)))

COMMON_OBJ := $(call obj,$(COMMON_SRC))
WIRE_OBJ := $(call obj,$(WIRE_SRC)) $(O)/obj/gen/precis.pb-c.o
ENGINE_OBJ := $(call obj,$(ENGINE_SRC) $(ENGINE_CXX))
CLIENT_OBJ := $(call obj,$(CLIENT_SRC))
CLI_OBJ := $(call obj,$(CLI_SRC))
SERVER_OBJ := $(call obj,$(SERVER_SRC))
BENCH_OBJ := $(call obj,$(BENCH_SRC) $(BENCH_CXX))
SUPPORT_OBJ := $(call obj,$(TEST_SUPPORT))
TEST_BIN := $(patsubst tests/%.c,$(O)/tests/%,$(TEST_SRC))

LIB_COMMON := $(O)/libprecis_common.a
LIB_WIRE := $(O)/libprecis_wire.a
LIB_ENGINE := $(O)/libprecis_engine.a
LIB_CLIENT := $(O)/libprecis.a
# libprecis.so.3.0.0 (soname libprecis.so.3) with the links libprecis.so.3
# and libprecis.so; only precis_* is exported (client/lib/libprecis.map,
# checked by scripts/check-abi.sh). Bump SO_MAJOR on an incompatible change
# (2: precis_retrieve_params gained similarity_floor, shared_neighbours and
# analogy, precis_retrieved_item link_end; 3: precis_retrieve_params gained
# anchors, group_limit and group_by).
SO_MAJOR := 3
SO_VERSION := $(SO_MAJOR).0.0
SO_REAL := $(O)/libprecis.so.$(SO_VERSION)
SO_CLIENT := $(O)/libprecis.so
BINS := $(if $(SERVER_SRC),$(O)/precisd) $(if $(CLI_SRC),$(O)/precis) $(if $(BENCH_SRC),$(O)/precis-bench)

.PHONY: all deps test test-only unit demo clean install data faiss-fast fuzz crash-long
all: $(LIB_COMMON) $(LIB_WIRE) $(LIB_ENGINE) $(if $(CLIENT_SRC),$(LIB_CLIENT) $(SO_CLIENT) $(O)/precis.pc) $(BINS)

deps:
	@scripts/deps.sh

# ---- generated protobuf code ----
$(PROTO_GEN_C) $(PROTO_GEN_H): proto/precis.proto
	@mkdir -p $(O)/gen
	protoc-c --proto_path=proto --c_out=$(O)/gen proto/precis.proto

# the objects that may include the generated header wait for it
$(WIRE_OBJ) $(CLIENT_OBJ) $(SERVER_OBJ) $(BENCH_OBJ) $(SUPPORT_OBJ): | $(PROTO_GEN_H)
# each library's include path (see INC_* above)
$(COMMON_OBJ): INC = $(INC_COMMON)
$(ENGINE_OBJ): INC = $(INC_ENGINE)
$(WIRE_OBJ): INC = $(INC_WIRE)
$(CLIENT_OBJ): INC = $(INC_CLIENT)
$(CLI_OBJ): INC = $(INC_CLI)
$(SERVER_OBJ): INC = $(INC_ALL) -Iserver

$(O)/obj/gen/precis.pb-c.o: $(PROTO_GEN_C)
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -Werror,$(CFLAGS)) $(INC) -c $< -o $@

$(O)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(INC) -c $< -o $@

$(O)/obj/%.o: %.cpp
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) $(INC) -c $< -o $@

$(LIB_COMMON): $(COMMON_OBJ)
	@rm -f $@; ar rcs $@ $^
$(LIB_WIRE): $(WIRE_OBJ)
	@rm -f $@; ar rcs $@ $^
$(LIB_ENGINE): $(ENGINE_OBJ)
	@rm -f $@; ar rcs $@ $^
$(LIB_CLIENT): $(CLIENT_OBJ) $(WIRE_OBJ) $(COMMON_OBJ)
	@rm -f $@; ar rcs $@ $^
$(SO_REAL): $(CLIENT_OBJ) $(WIRE_OBJ) $(COMMON_OBJ) client/lib/libprecis.map
	$(CC) -shared $(LDFLAGS) -o $@ $(filter %.o,$^) -lprotobuf-c -ljansson \
	  -Wl,-soname,libprecis.so.$(SO_MAJOR) -Wl,--version-script=client/lib/libprecis.map
$(SO_CLIENT): $(SO_REAL)
	ln -sf libprecis.so.$(SO_VERSION) $(O)/libprecis.so.$(SO_MAJOR)
	ln -sf libprecis.so.$(SO_MAJOR) $@
$(O)/precis.pc: scripts/precis.pc.in
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(SO_VERSION)|g' $< > $@

$(O)/precisd: $(SERVER_OBJ) $(LIB_ENGINE) $(LIB_WIRE) $(LIB_COMMON)
	$(CXX) $(LDFLAGS) -fopenmp -o $@ $(SERVER_OBJ) $(LIB_ENGINE) $(LIB_WIRE) $(LIB_COMMON) $(SYSLIBS)
$(O)/precis: $(CLI_OBJ) $(LIB_CLIENT)
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) $(LIB_CLIENT) -lprotobuf-c -ljansson -lm
$(O)/precis-bench: $(BENCH_OBJ) $(SUPPORT_OBJ) $(LIB_ENGINE) $(LIB_CLIENT) $(LIB_WIRE) $(LIB_COMMON)
	$(CXX) $(LDFLAGS) -fopenmp -o $@ $(BENCH_OBJ) $(SUPPORT_OBJ) $(LIB_ENGINE) $(LIB_CLIENT) $(LIB_WIRE) $(LIB_COMMON) $(SYSLIBS)
$(O)/obj/bench/%.o: CFLAGS += -Itests/support

$(O)/tests/%: tests/%.c $(SUPPORT_OBJ) $(LIB_ENGINE) $(if $(CLIENT_SRC),$(LIB_CLIENT)) $(LIB_WIRE) $(LIB_COMMON) | $(PROTO_GEN_H)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(INC_ALL) -Itests/support $(TEST_INC) -c $< -o $@.o
	$(CXX) $(LDFLAGS) -fopenmp -o $@ $@.o $(TEST_OBJ) $(SUPPORT_OBJ) $(LIB_ENGINE) $(if $(CLIENT_SRC),$(LIB_CLIENT)) $(LIB_WIRE) $(LIB_COMMON) $(SYSLIBS) -lcriterion
# test_front checks the front statistics of precis-bench quality
FRONT_TEST_OBJ := $(call obj,bench/quality_report.c bench/quality_transport.c bench/bench_util.c)
$(O)/tests/unit/test_front: $(FRONT_TEST_OBJ)
$(O)/tests/unit/test_front: TEST_INC := -Ibench
$(O)/tests/unit/test_front: TEST_OBJ := $(FRONT_TEST_OBJ)

$(O)/obj/tests/support/%.o: CFLAGS += -Itests/support

# ---- test, demo ----
unit: all $(TEST_BIN)
test: deps
	@scripts/check-format.sh
	@$(MAKE) --no-print-directory data
	@$(MAKE) --no-print-directory unit
	@scripts/check-abi.sh $(O) $(SO_MAJOR)
	@scripts/check-layers.sh $(O)
	@scripts/run-tests.sh $(O)
test-only: unit
	@scripts/check-abi.sh $(O) $(SO_MAJOR)
	@scripts/check-layers.sh $(O)
	@scripts/run-tests.sh $(O)
data:
	@scripts/fetch-data.sh test
demo: deps
	@$(MAKE) --no-print-directory all
	@scripts/demo.sh $(O)

PREFIX ?= /usr/local
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include/precis
	install -m 0755 $(BINS) $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 include/precis/*.h $(DESTDIR)$(PREFIX)/include/precis/
	install -m 0644 $(LIB_CLIENT) $(DESTDIR)$(PREFIX)/lib/
	install -m 0755 $(SO_REAL) $(DESTDIR)$(PREFIX)/lib/
	ln -sf libprecis.so.$(SO_VERSION) $(DESTDIR)$(PREFIX)/lib/libprecis.so.$(SO_MAJOR)
	ln -sf libprecis.so.$(SO_MAJOR) $(DESTDIR)$(PREFIX)/lib/libprecis.so
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(SO_VERSION)|g' scripts/precis.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/precis.pc

faiss-fast:
	@scripts/faiss-fast.sh

clean:
	rm -rf build

-include $(shell find $(O)/obj -name '*.d' 2>/dev/null)

# ---- reliability (docs/RELIABILITY.md) ----
# fuzz: every libFuzzer target for FUZZ_SECONDS each (clang; build/fuzz/);
# fuzz-smoke: 15 s each, as CI runs it; crash-long: 200 SIGKILL cycles of
# test_crash_server; tsan: precisd built with -fsanitize=thread into
# build/san-thread/ under the server integration test (the Criterion runner
# itself cannot run under TSan: Criterion issue #274) and the client test,
# OMP_NUM_THREADS=1 (libgomp's barriers are invisible to TSan); any report fails.
FUZZ_SECONDS ?= 600
.PHONY: fuzz-smoke tsan format format-check
# format: apply .clang-format to every tracked source; format-check: as `make test` does
format:
	@scripts/check-format.sh --fix
format-check:
	@scripts/check-format.sh
fuzz:
	@scripts/fuzz.sh $(FUZZ_SECONDS)
fuzz-smoke:
	@scripts/fuzz.sh 15
crash-long: $(O)/precisd $(O)/tests/integration/test_crash_server
	PRECIS_CRASH_CYCLES=200 $(O)/tests/integration/test_crash_server --verbose
tsan:
	@$(MAKE) --no-print-directory SANITIZE=thread build/san-thread/precisd
	@$(MAKE) --no-print-directory $(O)/tests/integration/test_server $(O)/tests/integration/test_server_wire $(O)/tests/integration/test_client
	@rm -rf build/san-thread/tsan-reports; mkdir -p build/san-thread/tsan-reports
	for t in test_server test_server_wire test_client; do \
	  OMP_NUM_THREADS=1 PRECISD=build/san-thread/precisd \
	  TSAN_OPTIONS="log_path=$(CURDIR)/build/san-thread/tsan-reports/tsan suppressions=$(CURDIR)/tests/tsan.supp $(TSAN_OPTIONS)" \
	  $(O)/tests/integration/$$t --jobs 1 || exit 1; done
	@if ls build/san-thread/tsan-reports/tsan.* >/dev/null 2>&1; then \
	  cat build/san-thread/tsan-reports/tsan.*; echo "tsan: data races reported (above)"; exit 1; \
	else echo "tsan: no reports"; fi

# ---- retrieval-quality study corpora (scripts/README-data.md, bench/README.md) ----
.PHONY: data-quality data-use
data-quality:
	@scripts/fetch-data.sh quality
# the same corpora re-embedded with a real sentence encoder (NAME-use)
data-use: data-quality
	@scripts/fetch-data.sh use

# ---- fault injection (issue 11; tests/fault/fault_alloc.c) ----
# precisd-faultinj: precisd whose own allocations can be made to fail
# (PRECIS_FAULT_* environment); run by tests/integration/test_faultinj.c,
# under ASan in the SANITIZE build.
FAULT_WRAP := -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup
$(O)/precisd-faultinj: $(SERVER_OBJ) $(O)/obj/tests/fault/fault_alloc.o $(LIB_ENGINE) $(LIB_WIRE) $(LIB_COMMON)
	$(CXX) $(LDFLAGS) -fopenmp $(FAULT_WRAP) -o $@ $(SERVER_OBJ) $(O)/obj/tests/fault/fault_alloc.o $(LIB_ENGINE) $(LIB_WIRE) $(LIB_COMMON) $(SYSLIBS)
$(O)/tests/integration/test_faultinj: $(O)/precisd-faultinj
# test_oom_engine: the engine's own allocations fail one by one, in-process
$(O)/tests/unit/test_oom_engine: $(O)/obj/tests/fault/fault_alloc.o
$(O)/tests/unit/test_oom_engine: TEST_OBJ := $(O)/obj/tests/fault/fault_alloc.o
$(O)/tests/unit/test_oom_engine: LDFLAGS += $(FAULT_WRAP)
# ---- Python client (client/python, docs/PYTHON.md) ----
# build/python/ is the complete package: the sources, the protobuf module
# that Debian's protoc generates from proto/precis.proto and the exception
# table generated from include/precis/status.h. Skipped without protoc.
PROTOC := $(shell command -v protoc 2>/dev/null)
PYTHON ?= $(shell command -v /usr/bin/python3 2>/dev/null || command -v python3)
PY_VER = $(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])')
PY_SITE ?= $(if $(filter /usr,$(PREFIX)),$(PREFIX)/lib/python3/dist-packages,$(PREFIX)/lib/python$(PY_VER)/dist-packages)
PY_OUT := $(O)/python
PY_SRC := $(wildcard client/python/precis/*.py)
ifneq ($(PROTOC),)
PY_BUILD := $(PY_OUT)/precis/precis_pb2.py $(PY_OUT)/precis/_status.py \
  $(patsubst client/python/%,$(PY_OUT)/%,$(PY_SRC) client/python/pyproject.toml client/python/README.md)
endif
.PHONY: python install-python
all: $(PY_BUILD)
python: $(PY_BUILD)
$(PY_OUT)/precis/precis_pb2.py: proto/precis.proto
	@mkdir -p $(dir $@)
	$(PROTOC) --proto_path=proto --python_out=$(dir $@) proto/precis.proto
$(PY_OUT)/precis/_status.py: include/precis/status.h client/python/gen_status.py
	@mkdir -p $(dir $@)
	$(PYTHON) client/python/gen_status.py $< $@
$(PY_OUT)/%: client/python/%
	@mkdir -p $(dir $@)
	cp $< $@
install: install-python

# ---- metrics endpoint (server/metrics.c, docs/OPERATIONS.md) ----
$(O)/precisd $(O)/precisd-faultinj: SYSLIBS += -lmicrohttpd
install-python: $(PY_BUILD)
	@test -n "$(PROTOC)" || { echo "install-python: protoc (protobuf-compiler) is missing" >&2; exit 1; }
	install -d $(DESTDIR)$(PY_SITE)/precis
	install -m 0644 $(PY_OUT)/precis/*.py $(DESTDIR)$(PY_SITE)/precis/

# ---- parameter tables (include/precis/params.h) -> docs/PROTOCOL.md ----
# params-doc rewrites the generated tables; tests/unit/test_params.c fails
# when they are stale.
.PHONY: params-doc
$(O)/params_doc: scripts/params_doc.c include/precis/params.h include/precis/limits.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Iinclude -o $@ $<
params-doc: $(O)/params_doc
	$(O)/params_doc --write docs/PROTOCOL.md

# ---- LangChain.js beside Precis in `precis-bench select` (issue 13) ----
# @langchain/core at the version and integrity pinned in the script, into
# .deps/langchain (never committed); bench/select_langchain.h.
.PHONY: langchain
langchain:
	@scripts/fetch-langchain.sh
