# Virtual Branch. `make run` starts the product; `make test` tests it.
# Build output goes to $(BUILD); the sanitizer build (SAN=1) to build-san.

SAN	?= 0
ifeq ($(SAN),1)
BUILD	?= build-san
SANFLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
BUILD	?= build
SANFLAGS =
endif

CC	?= cc
KORE_FEATURES := $(shell cat /usr/share/kore/features 2>/dev/null)
WARN	= -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wmissing-prototypes \
	  -Wstrict-prototypes -Wno-unused-parameter -Wno-missing-field-initializers
CFLAGS	+= -std=gnu11 -O2 -g -fPIC $(WARN) $(SANFLAGS) -I$(BUILD) -Iapp \
	   -I/usr/include/postgresql $(KORE_FEATURES)
LDFLAGS	+= $(SANFLAGS)
LIBS	= -lpq -lhiredis -lsodium -loath -lqrencode -lcurl -lm -lmagic -lzip -ljansson -lcrypto
# Call recording library (modules/media/rec*.c, see rec.h), linked into the media relay.
REC_SRC	= $(wildcard modules/media/rec*.c)
REC_CFLAGS = $(shell pkg-config --cflags opus ogg libavformat 2>/dev/null)
REC_LIBS = $(shell pkg-config --libs opus ogg libavformat libavcodec libavutil libcrypto 2>/dev/null) -lpthread

APP_SRC	= app/vb.c app/req.c app/route.c app/db.c app/rds.c app/auth.c app/pwtask.c app/hub.c \
	  app/page.c app/ops.c app/util.c app/totp.c app/wauth.c app/widget.c app/wmail.c \
	  app/files.c app/fileutil.c app/offline.c app/wsframe.c \
	  app/callutil.c app/calls.c \
	  app/followmail.c
PURE_SRC = app/util.c app/totp.c app/wauth.c
APP_OBJ	= $(APP_SRC:app/%.c=$(BUILD)/%.o)
QUERIES	= $(wildcard sql/queries/*.sql)

.PHONY: all deps run migrate test unit integration e2e bench fuzz clean stop

all: $(BUILD)/vb.so $(BUILD)/vbctl

deps:
	@conf/bin/vb-deps

$(BUILD)/queries.h: $(QUERIES) conf/bin/vb-sqlgen
	@mkdir -p $(BUILD)
	conf/bin/vb-sqlgen $(QUERIES) > $@.tmp && mv $@.tmp $@

$(BUILD)/%.o: app/%.c app/vb.h app/util.h app/fileutil.h app/wsframe.h app/callutil.h $(BUILD)/queries.h
	@test -n "$(KORE_FEATURES)" || { echo "kore is not installed: run 'make deps'" >&2; exit 1; }
	@mkdir -p $(BUILD)
	@echo "  CC  $<"
	@$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/vb.so: $(APP_OBJ)
	@echo "  LD  $@"
	@$(CC) -shared $(LDFLAGS) -o $@ $(APP_OBJ) $(LIBS)

$(BUILD)/vbctl: app/vbctl.c $(PURE_SRC) app/util.h
	@echo "  CC  $@"
	@$(CC) $(CFLAGS) $(LDFLAGS) -o $@ app/vbctl.c $(PURE_SRC) $(LIBS)

# Sub-makes: Kore's feature flags are read when the Makefile is parsed, which
# must happen after deps has installed Kore (struct layouts depend on them).
run: deps
	@$(MAKE) --no-print-directory all
	@conf/bin/vb-run

migrate: deps
	@conf/bin/vb-services start
	@conf/bin/vb-migrate

stop:
	@conf/bin/vb-services stop

test:
	@tests/run

unit:
	@tests/run unit

integration:
	@tests/run integration

e2e:
	@tests/run e2e

bench:
	@conf/bin/vb-deps test
	@tests/bench/run

fuzz:
	@tests/fuzz/run

clean:
	rm -rf build build-san build-fuzz
