# ngx_http_staged_update_module: build, run the demo, test.
#
#   make          the dynamic module for Debian's nginx: build/ngx_http_staged_update_module.so
#   make run      install what is missing, build, start the demo on 127.0.0.1:8080
#   make test     install what is missing, build, run every test (unit, t/, sanitizers)
#
# Debian bookworm; `make deps` needs root (apt-get).

SHELL    := /bin/bash
TOP      := $(abspath .)
BUILD    := $(TOP)/build
SO       := $(BUILD)/ngx_http_staged_update_module.so
NGX_DEV  ?= /usr/share/nginx/src
NGINX    ?= /usr/sbin/nginx
CC       ?= cc

PURE     := src/ngx_http_staged_update_version.c \
            src/ngx_http_staged_update_table.c \
            src/ngx_http_staged_update_json.c \
            src/ngx_http_staged_update_token.c \
            src/ngx_http_staged_update_rate.c \
            src/ngx_http_staged_update_ramp.c
MODSRC   := config ngx_http_staged_update_module.c $(wildcard src/*.c src/*.h)

DEBS     := nginx nginx-dev libssl-dev libpcre2-dev zlib1g-dev build-essential \
            perl libtest-base-perl libipc-run-perl libtext-diff-perl \
            liblist-moreutils-perl libhttp-message-perl libio-pty-perl \
            libio-socket-ssl-perl libcurl4-openssl-dev curl python3 openssl \
            python3-matplotlib

CFLAGS_STRICT := -Wall -Wextra -Werror -Wno-unused-parameter

LAUNCHER := $(BUILD)/launcher

.PHONY: all module deps run stop test unit t asan asan-test fuzz fuzz-replay clean \
        launcher launcher-demo bench-delivery sim

all: module

module: $(SO)

$(SO): $(MODSRC)
	rm -rf $(BUILD)/nginx-dev
	mkdir -p $(BUILD)
	cp -a $(NGX_DEV) $(BUILD)/nginx-dev
	cd $(BUILD)/nginx-dev && . ./conf_flags && \
	    ./configure "$${NGX_CONF_FLAGS[@]}" \
	        --with-cc-opt="$(CFLAGS_STRICT)" \
	        --add-dynamic-module=$(TOP) > $(BUILD)/configure.log 2>&1 \
	    || { tail -30 $(BUILD)/configure.log; exit 1; }
	$(MAKE) -C $(BUILD)/nginx-dev -f objs/Makefile modules
	cp $(BUILD)/nginx-dev/objs/ngx_http_staged_update_module.so $(SO).tmp
	mv $(SO).tmp $(SO)
	@echo "built $(SO)"

deps:
	@missing=""; for p in $(DEBS) $(EXTRA_DEBS); do \
	    dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" \
	        || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	    echo "installing:$$missing"; \
	    apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

run: deps module
	examples/demo.sh start

stop:
	examples/demo.sh stop

unit: $(BUILD)/unit $(BUILD)/unit-shape
	$(BUILD)/unit
	$(BUILD)/unit-shape

$(BUILD)/unit: tests/unit/unit.c $(PURE) $(wildcard src/*.h)
	mkdir -p $(BUILD)
	$(CC) $(CFLAGS_STRICT) -g -O1 -fsanitize=address,undefined \
	    -fno-sanitize-recover=all -Isrc -o $@ tests/unit/unit.c $(PURE) -lcrypto

$(BUILD)/unit-shape: tests/unit/shape.c $(PURE) $(wildcard src/*.h)
	mkdir -p $(BUILD)
	$(CC) $(CFLAGS_STRICT) -g -O1 -fsanitize=address,undefined \
	    -fno-sanitize-recover=all -Isrc -o $@ tests/unit/shape.c $(PURE) -lcrypto

launcher: $(LAUNCHER)

$(LAUNCHER): examples/launcher/launcher.c
	mkdir -p $(BUILD)
	$(CC) $(CFLAGS_STRICT) -O2 -o $@ $< -lcurl -lcrypto

launcher-demo: deps module $(LAUNCHER)
	examples/launcher/demo.sh start

t: module $(LAUNCHER)
	STAGED_UPDATE_LAUNCHER=$(LAUNCHER) \
	TEST_NGINX_BINARY=$(NGINX) TEST_NGINX_LOAD_MODULES=$(SO) \
	    prove -I t/lib -r t

test: deps
	$(MAKE) unit
	$(MAKE) fuzz-replay
	$(MAKE) t
	$(MAKE) asan-test

# A whole nginx from the upstream 1.22.1 source (Debian's source package),
# with the module built in (--add-module) and ASan + UBSan; the t/ suites
# then run on it and any sanitizer report fails the run.

NGX_VERSION := 1.22.1
NGX_DEBSRC  := nginx=1.22.1-9+deb12u9
ASAN        := $(BUILD)/asan
ASAN_NGINX  := $(ASAN)/sbin/nginx
# nginx core loads unaligned words on purpose (ngx_http_parse.c) and copies
# empty strings from NULL (ngx_pstrdup): those two checks are left out here;
# the unit tests and fuzzers keep them for the module's pure logic
SAN_FLAGS   := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
               -fno-sanitize=alignment,nonnull-attribute -fno-omit-frame-pointer

$(BUILD)/nginx-$(NGX_VERSION)/configure:
	mkdir -p $(BUILD)
	[ -f $(BUILD)/nginx_$(NGX_VERSION).orig.tar.gz ] || { \
	    grep -rqs '^Types: deb-src' /etc/apt/sources.list.d/ \
	        || sed -e 's/^Types: deb$$/Types: deb-src/' \
	               /etc/apt/sources.list.d/debian.sources \
	               > /etc/apt/sources.list.d/debian-src.sources; \
	    apt-get update -qq; \
	    cd $(BUILD) && apt-get source --download-only $(NGX_DEBSRC) || true; }
	tar -xzf $(BUILD)/nginx_$(NGX_VERSION).orig.tar.gz -C $(BUILD)
	touch $@

$(ASAN_NGINX): $(BUILD)/nginx-$(NGX_VERSION)/configure $(MODSRC)
	cd $(BUILD)/nginx-$(NGX_VERSION) && ./configure --prefix=$(ASAN) \
	    --with-debug --with-http_ssl_module --with-http_v2_module \
	    --with-http_stub_status_module --with-http_realip_module \
	    --with-http_auth_request_module --with-http_dav_module \
	    --with-http_slice_module --with-threads --with-http_addition_module \
	    --with-http_gunzip_module --with-http_gzip_static_module \
	    --with-http_random_index_module --with-http_secure_link_module \
	    --with-http_sub_module \
	    --with-cc-opt="-O1 -g $(CFLAGS_STRICT) $(SAN_FLAGS)" \
	    --with-ld-opt="$(SAN_FLAGS)" \
	    --add-module=$(TOP) > $(BUILD)/asan-configure.log 2>&1 \
	    || { tail -30 $(BUILD)/asan-configure.log; exit 1; }
	$(MAKE) -C $(BUILD)/nginx-$(NGX_VERSION) -f objs/Makefile
	$(MAKE) -C $(BUILD)/nginx-$(NGX_VERSION) -f objs/Makefile install

asan: $(ASAN_NGINX)

asan-test: $(ASAN_NGINX) $(LAUNCHER)
	rm -rf $(ASAN)/reports && mkdir -p $(ASAN)/reports
	ASAN_OPTIONS=detect_leaks=0:log_path=$(ASAN)/reports/asan \
	UBSAN_OPTIONS=print_stacktrace=1:log_path=$(ASAN)/reports/ubsan \
	STAGED_UPDATE_LAUNCHER=$(LAUNCHER) \
	TEST_NGINX_BINARY=$(ASAN_NGINX) TEST_NGINX_LOAD_MODULES= \
	    prove -I t/lib -r t
	@if ls $(ASAN)/reports/* >/dev/null 2>&1; then \
	    cat $(ASAN)/reports/*; echo "sanitizer reports: FAIL"; exit 1; fi
	@echo "sanitizers: no report"

# libFuzzer targets (clang), each run FUZZ_SECONDS; see fuzz/README.md

FUZZ_SECONDS ?= 30
FUZZ_TARGETS := fuzz_version fuzz_pct fuzz_table fuzz_json fuzz_token fuzz_shape
CLANG        ?= clang

fuzz: $(FUZZ_TARGETS:%=$(BUILD)/fuzz/%)
	@set -e; for t in $(FUZZ_TARGETS); do \
	    mkdir -p $(BUILD)/fuzz/corpus/$$t; \
	    echo "fuzz: $$t for $(FUZZ_SECONDS)s"; \
	    $(BUILD)/fuzz/$$t -max_total_time=$(FUZZ_SECONDS) \
	        -print_final_stats=1 -artifact_prefix=$(BUILD)/fuzz/$$t- \
	        $(BUILD)/fuzz/corpus/$$t fuzz/corpus/$$t \
	        > $(BUILD)/fuzz/$$t.log 2>&1 \
	        || { tail -40 $(BUILD)/fuzz/$$t.log; exit 1; }; \
	    grep '^stat::number_of_executed_units' $(BUILD)/fuzz/$$t.log; \
	done

# the fuzz targets' seed corpora, replayed by gcc builds (no clang needed)

fuzz-replay: $(FUZZ_TARGETS:%=$(BUILD)/replay/%)
	@set -e; for t in $(FUZZ_TARGETS); do \
	    $(BUILD)/replay/$$t fuzz/corpus/$$t > /dev/null; \
	    echo "fuzz-replay: $$t: $$(ls fuzz/corpus/$$t | wc -l) inputs ok"; \
	done

$(BUILD)/replay/%: fuzz/%.c fuzz/fuzz_replay.h $(PURE) $(wildcard src/*.h)
	mkdir -p $(BUILD)/replay
	$(CC) $(CFLAGS_STRICT) -g -O1 -fsanitize=address,undefined \
	    -fno-sanitize-recover=all -DSTANDALONE_MAIN -Isrc -o $@ $< $(PURE) \
	    -lcrypto

$(BUILD)/fuzz/%: fuzz/%.c $(PURE) $(wildcard src/*.h)
	mkdir -p $(BUILD)/fuzz
	$(CLANG) $(CFLAGS_STRICT) -g -O1 -fsanitize=fuzzer,address,undefined \
	    -Isrc -o $@ $< $(PURE) -lcrypto

# the seed's purpose, shown: 1,000,000 launchers against nginx with the
# module, five scenarios of two compressed days (120 s) each, about 21
# minutes; the table and the plots go to docs/ (SIM_PORT: 27100)

sim: deps module
	/usr/bin/python3 sim/run.py --n 1000000 --day 120 --days 2 \
	    --plots docs --table docs/sim-results.md

bench-delivery: module
	bench/run-delivery.sh -d 6 -r 3

clean:
	rm -rf $(BUILD) t/servroot
