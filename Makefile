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
            src/ngx_http_staged_update_minisign.c \
            src/ngx_http_staged_update_override.c \
            src/ngx_http_staged_update_hll.c \
            src/ngx_http_staged_update_rate.c \
            src/ngx_http_staged_update_ramp.c \
            src/ngx_http_staged_update_outcome.c
MODSRC   := config ngx_http_staged_update_module.c $(wildcard src/*.c src/*.h)

DEBS     := nginx nginx-dev libssl-dev libpcre2-dev zlib1g-dev build-essential \
            perl libtest-base-perl libipc-run-perl libtext-diff-perl \
            liblist-moreutils-perl libhttp-message-perl libio-pty-perl \
            libio-socket-ssl-perl libcurl4-openssl-dev curl python3 openssl \
            dpkg-dev debhelper devscripts lintian git libjansson-dev pkgconf \
            minisign prometheus chromium \
            python3-matplotlib

CFLAGS_STRICT := -Wall -Wextra -Werror -Wno-unused-parameter

# nginx is configured with Debian's flags, as dh's nginx_mod build system
# (nginx-dev) builds Debian's libnginx-mod-* packages: conf_flags, and
# dpkg-buildflags with hardening=+all (-O2, -fstack-protector-strong,
# -D_FORTIFY_SOURCE=2, -z relro -z now), run in the source tree for its
# -ffile-prefix-map.  The strict warnings above are added to the module's
# own objects only (objs/addon/, where nginx puts an addon's objects), when
# objs/Makefile is run: configure's feature tests never see them.
DEB_FLAGS     := cd $(TOP) && DEB_BUILD_MAINT_OPTIONS=hardening=+all \
                 dpkg-buildflags --get
NGX_CC_OPT    := $$($(DEB_FLAGS) CFLAGS) -fPIC $$($(DEB_FLAGS) CPPFLAGS)
NGX_LD_OPT    := $$($(DEB_FLAGS) LDFLAGS) -fPIC
NGX_STRICT    := --eval='objs/addon/%.o: CFLAGS += $(CFLAGS_STRICT)'

LAUNCHER := $(BUILD)/launcher
EMBED    := $(BUILD)/game-launcher

.PHONY: all module deps run stop test unit t asan asan-test fuzz fuzz-replay clean \
        launcher launcher-demo bench-delivery build-test deb deb-test sim

all: module

module: $(SO)

$(SO): $(MODSRC) Makefile
	rm -rf $(BUILD)/nginx-dev
	mkdir -p $(BUILD)
	cp -a $(NGX_DEV) $(BUILD)/nginx-dev
	cd $(BUILD)/nginx-dev && . ./conf_flags && \
	    ./configure --with-cc-opt="$(NGX_CC_OPT)" \
	        --with-ld-opt="$(NGX_LD_OPT)" "$${NGX_CONF_FLAGS[@]}" \
	        --add-dynamic-module=$(TOP) > $(BUILD)/configure.log 2>&1 \
	    || { tail -30 $(BUILD)/configure.log; exit 1; }
	$(MAKE) -C $(BUILD)/nginx-dev -f objs/Makefile $(NGX_STRICT) modules
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

# the demo's ports on 127.0.0.1: make run PORT=9080 TLS_PORT=9443
PORT     ?= 8080
TLS_PORT ?= 8443

run: deps module
	PORT=$(PORT) TLS_PORT=$(TLS_PORT) examples/demo.sh start

# stops everything the demos started (nginx, the sample shard)
stop:
	examples/demo.sh stop

unit: $(BUILD)/unit $(BUILD)/unit-shape
	$(BUILD)/unit
	$(BUILD)/unit-shape

$(BUILD)/unit: tests/unit/unit.c $(PURE) $(wildcard src/*.h)
	mkdir -p $(BUILD)
	$(CC) $(CFLAGS_STRICT) -g -O1 -fsanitize=address,undefined \
	    -fno-sanitize-recover=all -Isrc -o $@ tests/unit/unit.c $(PURE) -lcrypto -ljansson -lm

$(BUILD)/unit-shape: tests/unit/shape.c $(PURE) $(wildcard src/*.h)
	mkdir -p $(BUILD)
	$(CC) $(CFLAGS_STRICT) -g -O1 -fsanitize=address,undefined \
	    -fno-sanitize-recover=all -Isrc -o $@ tests/unit/shape.c $(PURE) -lcrypto -ljansson -lm

launcher: $(LAUNCHER)

launcher-demo: deps module $(LAUNCHER)
	PORT=$(PORT) TLS_PORT=$(TLS_PORT) examples/launcher/demo.sh start

t: module $(LAUNCHER) $(EMBED)
	STAGED_UPDATE_LAUNCHER=$(LAUNCHER) STAGED_UPDATE_EMBED=$(EMBED) \
	TEST_NGINX_BINARY=$(NGINX) TEST_NGINX_LOAD_MODULES=$(SO) \
	    prove -I t/lib -r t

test: deps
	$(MAKE) unit
	$(MAKE) client-unit
	$(MAKE) fuzz-replay
	$(MAKE) build-test
	$(MAKE) t
	$(MAKE) deb-test
	$(MAKE) asan-test

# the .so is built as Debian builds nginx: same configuration as Debian's
# flags alone give, hardened, and a warning in a module file fails make

build-test: module
	tests/debian/build-flags.sh $(BUILD)

# The Debian package libnginx-mod-http-staged-update (debian/), built with
# Debian's machinery for nginx modules from a copy of the tree (the files
# git tracks and the new ones it does not ignore) in build/deb/, where
# dpkg-buildpackage also writes the .deb; its build runs the t/ suites
# (DEB_BUILD_OPTIONS=nocheck skips them).  lintian must report no error.
# deb-test installs it on this machine (root), checks the installed module
# with nginx of its own on 127.0.0.1, then removes and purges it.

DEB_PKG := libnginx-mod-http-staged-update
DEB_DIR := $(BUILD)/deb

deb:
	rm -rf $(DEB_DIR) && mkdir -p $(DEB_DIR)/$(DEB_PKG)
	cd $(TOP) && git ls-files -z --cached --others --exclude-standard \
	    | tar --null --ignore-failed-read -T - -cf - \
	    | tar -C $(DEB_DIR)/$(DEB_PKG) -xf -
	cd $(DEB_DIR)/$(DEB_PKG) && dpkg-buildpackage -us -uc -b \
	    > $(DEB_DIR)/build.log 2>&1 || { tail -40 $(DEB_DIR)/build.log; exit 1; }
	grep -E '^(Files=|Result:)' $(DEB_DIR)/build.log || true
	lintian --fail-on error --info $(DEB_DIR)/*.changes
	@ls $(DEB_DIR)/*.deb

deb-test: deb
	tests/debian/package.sh $(DEB_DIR)

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
	    --with-cc-opt="-O1 -g $(SAN_FLAGS)" \
	    --with-ld-opt="$(SAN_FLAGS)" \
	    --add-module=$(TOP) > $(BUILD)/asan-configure.log 2>&1 \
	    || { tail -30 $(BUILD)/asan-configure.log; exit 1; }
	$(MAKE) -C $(BUILD)/nginx-$(NGX_VERSION) -f objs/Makefile $(NGX_STRICT)
	$(MAKE) -C $(BUILD)/nginx-$(NGX_VERSION) -f objs/Makefile install

asan: $(ASAN_NGINX)

asan-test: $(ASAN_NGINX) $(LAUNCHER) $(EMBED)
	rm -rf $(ASAN)/reports && mkdir -p $(ASAN)/reports
	ASAN_OPTIONS=detect_leaks=0:log_path=$(ASAN)/reports/asan \
	UBSAN_OPTIONS=print_stacktrace=1:log_path=$(ASAN)/reports/ubsan \
	STAGED_UPDATE_LAUNCHER=$(LAUNCHER) STAGED_UPDATE_EMBED=$(EMBED) \
	TEST_NGINX_BINARY=$(ASAN_NGINX) TEST_NGINX_LOAD_MODULES= \
	    prove -I t/lib -r t
	@if ls $(ASAN)/reports/* >/dev/null 2>&1; then \
	    cat $(ASAN)/reports/*; echo "sanitizer reports: FAIL"; exit 1; fi
	@echo "sanitizers: no report"

# libFuzzer targets (clang), each run FUZZ_SECONDS; see fuzz/README.md

FUZZ_SECONDS ?= 30
FUZZ_TARGETS := fuzz_version fuzz_pct fuzz_table fuzz_json fuzz_token \
                fuzz_override fuzz_shape fuzz_outcome
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

$(BUILD)/replay/%: fuzz/%.c fuzz/fuzz.h fuzz/fuzz_replay.h $(PURE) $(wildcard src/*.h)
	mkdir -p $(BUILD)/replay
	$(CC) $(CFLAGS_STRICT) -g -O1 -fsanitize=address,undefined \
	    -fno-sanitize-recover=all -DSTANDALONE_MAIN -Isrc -o $@ $< $(PURE) \
	    -lcrypto -ljansson -lm

$(BUILD)/fuzz/%: fuzz/%.c fuzz/fuzz.h $(PURE) $(wildcard src/*.h)
	mkdir -p $(BUILD)/fuzz
	$(CLANG) $(CFLAGS_STRICT) -g -O1 -fsanitize=fuzzer,address,undefined \
	    -Isrc -o $@ $< $(PURE) -lcrypto -ljansson -lm

# ---------------------------------------------------------------------------
# libstagedupdate (client/): the client library, shared (soname
# libstagedupdate.so.0) and static, with a pkg-config file; the reference
# launcher on it (build/launcher, client/cli/); the embedding example
# (build/game-launcher, built against an installed copy with pkg-config).
#
#   make client          the libraries and the launcher in build/client/
#   make embed           the embedding example, build/game-launcher
#   make install-client  into $(DESTDIR)$(PREFIX) (default /usr/local)
#   make client-unit     the library's unit and fault-injection tests

PREFIX      ?= /usr/local
LIBDIR      ?= $(PREFIX)/lib
INCLUDEDIR  ?= $(PREFIX)/include
BINDIR      ?= $(PREFIX)/bin

CLIENT      := $(BUILD)/client
SU_VERSION  := 0.1.0
SU_SONAME   := libstagedupdate.so.0
SU_SO       := $(CLIENT)/libstagedupdate.so.$(SU_VERSION)
SU_A        := $(CLIENT)/libstagedupdate.a
SU_PC       := $(CLIENT)/stagedupdate.pc
SU_SRC      := $(wildcard client/src/*.c)
SU_HDR      := client/include/stagedupdate.h $(wildcard client/src/*.h)
SU_OBJ      := $(SU_SRC:client/src/%.c=$(CLIENT)/obj/%.o)
SU_LIBS     := -lcurl -ljansson -lcrypto
SU_CFLAGS   := -Wall -Wextra -Werror -O2 -g -fPIC -fvisibility=hidden \
               -Iclient/include
CLI_SRC     := $(wildcard client/cli/*.c)
EMBED_ROOT  := $(CLIENT)/root

.PHONY: client install-client client-unit embed

client: $(SU_SO) $(SU_A) $(SU_PC) $(LAUNCHER)

embed: $(EMBED)

$(CLIENT)/obj/%.o: client/src/%.c $(SU_HDR)
	mkdir -p $(CLIENT)/obj
	$(CC) $(SU_CFLAGS) -c -o $@ $<

$(SU_SO): $(SU_OBJ)
	$(CC) -shared -Wl,-soname,$(SU_SONAME) -Wl,-z,defs -o $@ $^ $(SU_LIBS)
	ln -sf $(notdir $@) $(CLIENT)/$(SU_SONAME)
	ln -sf $(SU_SONAME) $(CLIENT)/libstagedupdate.so

$(SU_A): $(SU_OBJ)
	rm -f $@
	ar rcs $@ $^

# the .pc names the installed paths: made again by install-client, so that
# PREFIX and LIBDIR given there are the ones it says
SU_PC_SED   = sed -e 's|@PREFIX@|$(PREFIX)|; s|@LIBDIR@|$(LIBDIR)|' \
                  -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|; s|@VERSION@|$(SU_VERSION)|' \
                  client/stagedupdate.pc.in

$(SU_PC): client/stagedupdate.pc.in Makefile
	mkdir -p $(CLIENT)
	$(SU_PC_SED) > $@

# the launcher links the static library: build/launcher runs from anywhere
$(LAUNCHER): $(CLI_SRC) client/cli/cli.h $(SU_A)
	$(CC) -Wall -Wextra -Werror -O2 -Iclient/include -o $@ $(CLI_SRC) \
	    $(SU_A) $(SU_LIBS)

install-client: $(SU_SO) $(SU_A) $(SU_PC) $(LAUNCHER)
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR) \
	    $(DESTDIR)$(BINDIR)
	install -m 644 client/include/stagedupdate.h $(DESTDIR)$(INCLUDEDIR)/
	install -m 644 $(SU_A) $(DESTDIR)$(LIBDIR)/
	install -m 755 $(SU_SO) $(DESTDIR)$(LIBDIR)/
	ln -sf $(notdir $(SU_SO)) $(DESTDIR)$(LIBDIR)/$(SU_SONAME)
	ln -sf $(SU_SONAME) $(DESTDIR)$(LIBDIR)/libstagedupdate.so
	$(SU_PC_SED) > $(DESTDIR)$(LIBDIR)/pkgconfig/stagedupdate.pc
	install -m 755 $(LAUNCHER) $(DESTDIR)$(BINDIR)/staged-update-launcher

# the example is built as a launcher author would: against an installed
# copy (DESTDIR=build/client/root), with pkg-config
$(EMBED): examples/embed/game-launcher.c $(SU_SO) $(SU_A) $(SU_PC) $(LAUNCHER)
	rm -rf $(EMBED_ROOT)
	$(MAKE) install-client DESTDIR=$(EMBED_ROOT)
	$(CC) -Wall -Wextra -Werror -O2 -o $@ $< \
	    $$(PKG_CONFIG_PATH=$(EMBED_ROOT)$(LIBDIR)/pkgconfig \
	       PKG_CONFIG_SYSROOT_DIR=$(EMBED_ROOT) \
	       pkg-config --cflags --libs stagedupdate) \
	    -Wl,-rpath,$(EMBED_ROOT)$(LIBDIR)

client-unit: $(CLIENT)/unit
	$(CLIENT)/unit

$(CLIENT)/unit: tests/client/unit.c $(SU_SRC) $(SU_HDR)
	mkdir -p $(CLIENT)
	$(CC) -Wall -Wextra -Werror -g -O1 -fsanitize=address,undefined \
	    -fno-sanitize-recover=all -Iclient/include -Iclient/src -o $@ \
	    tests/client/unit.c $(SU_SRC) $(SU_LIBS)

# ---------------------------------------------------------------------------

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
