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
            src/ngx_http_staged_update_json.c
MODSRC   := config ngx_http_staged_update_module.c $(wildcard src/*.c src/*.h)

DEBS     := nginx nginx-dev libssl-dev libpcre2-dev zlib1g-dev build-essential \
            perl libtest-base-perl libipc-run-perl libtext-diff-perl \
            liblist-moreutils-perl libhttp-message-perl curl python3 openssl

CFLAGS_STRICT := -Wall -Wextra -Werror -Wno-unused-parameter

.PHONY: all module deps run stop test unit t asan asan-test fuzz bench clean

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
	cp $(BUILD)/nginx-dev/objs/ngx_http_staged_update_module.so $(SO)
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

unit: $(BUILD)/unit
	$(BUILD)/unit

$(BUILD)/unit: tests/unit/unit.c $(PURE) $(wildcard src/*.h)
	mkdir -p $(BUILD)
	$(CC) $(CFLAGS_STRICT) -g -O1 -fsanitize=address,undefined \
	    -fno-sanitize-recover=all -Isrc -o $@ tests/unit/unit.c $(PURE)

t: module
	TEST_NGINX_BINARY=$(NGINX) TEST_NGINX_LOAD_MODULES=$(SO) \
	    prove -I t/lib -r t

test: deps
	$(MAKE) unit
	$(MAKE) t
	$(MAKE) asan-test

clean:
	rm -rf $(BUILD) t/servroot
