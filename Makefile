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
LIBS	= -lpq -lhiredis -lsodium -loath -lqrencode -lcurl -lm -lmagic -lzip -ljansson -lcrypto -lz
# Call recording library (modules/media/rec*.c, see rec.h), linked into the media relay.
REC_SRC	= $(wildcard modules/media/rec*.c)
REC_CFLAGS = $(shell pkg-config --cflags opus ogg libavformat 2>/dev/null)
REC_LIBS = $(shell pkg-config --libs opus ogg libavformat libavcodec libavutil libcrypto 2>/dev/null) -lpthread

APP_SRC	= app/vb.c app/req.c app/route.c app/db.c app/rds.c app/auth.c app/pwtask.c app/hub.c \
	  app/page.c app/ops.c app/util.c app/totp.c app/wauth.c app/widget.c app/wmail.c \
	  app/files.c app/fileutil.c app/offline.c app/wsframe.c \
	  app/callutil.c app/calls.c app/cbframe.c app/cbstore.c app/cobrowse.c \
	  app/followmail.c app/media.c
PURE_SRC = app/util.c app/totp.c app/wauth.c
APP_OBJ	= $(APP_SRC:app/%.c=$(BUILD)/%.o)
QUERIES	= $(wildcard sql/queries/*.sql)

# The media relay (modules/media, docs/media.md): a separate daemon.
MEDIA_SRC = modules/media/main.c modules/media/media.c modules/media/net.c \
	  modules/media/peer.c modules/media/room.c modules/media/ctl.c \
	  modules/media/stun.c modules/media/sdp.c modules/media/rtp.c \
	  modules/media/rtcp.c modules/media/sec.c modules/media/srtpossl.c \
	  modules/media/dtls.c \
	  modules/media/mrec.c $(REC_SRC)
MEDIA_OBJ = $(MEDIA_SRC:modules/media/%.c=$(BUILD)/media/%.o)
MEDIA_LIBS = -lssl -lcrypto -lsrtp2 -ljansson -lz $(REC_LIBS)

.PHONY: all deps run migrate test unit integration e2e bench fuzz clean stop

# Browser libraries from npm (conf/vendor/package-lock.json), copied into
# static/vendor/ (not in git): rrweb for co-browsing (issue 5).
VENDOR	= static/vendor/rrweb-record.js static/vendor/rrweb-replay.js static/vendor/rrweb-replay.css

all: $(BUILD)/vb.so $(BUILD)/vbctl $(BUILD)/vb-media $(VENDOR)

deps:
	@conf/bin/vb-deps

$(VENDOR) &: conf/vendor/package.json conf/vendor/package-lock.json
	@mkdir -p build-vendor static/vendor
	@cp conf/vendor/package.json conf/vendor/package-lock.json build-vendor/
	@cd build-vendor && npm ci --no-audit --no-fund --loglevel=error >/dev/null
	@cp build-vendor/node_modules/@rrweb/record/dist/record.umd.min.cjs static/vendor/rrweb-record.js
	@cp build-vendor/node_modules/@rrweb/replay/dist/replay.umd.min.cjs static/vendor/rrweb-replay.js
	@cp build-vendor/node_modules/@rrweb/replay/dist/style.min.css static/vendor/rrweb-replay.css
	@echo "  VENDOR static/vendor (rrweb)"

$(BUILD)/queries.h: $(QUERIES) conf/bin/vb-sqlgen
	@mkdir -p $(BUILD)
	conf/bin/vb-sqlgen $(QUERIES) > $@.tmp && mv $@.tmp $@

$(BUILD)/%.o: app/%.c app/vb.h app/util.h app/fileutil.h app/wsframe.h app/callutil.h app/cbframe.h app/cbstore.h $(BUILD)/queries.h
	@test -n "$(KORE_FEATURES)" || { echo "kore is not installed: run 'make deps'" >&2; exit 1; }
	@mkdir -p $(BUILD)
	@echo "  CC  $<"
	@$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/vb.so: $(APP_OBJ)
	@echo "  LD  $@"
	@$(CC) -shared $(LDFLAGS) -o $@ $(APP_OBJ) $(LIBS)

$(BUILD)/vbctl: app/vbctl.c $(PURE_SRC) app/fileutil.c app/fileutil.h app/util.h
	@echo "  CC  $@"
	@$(CC) $(CFLAGS) $(LDFLAGS) -o $@ app/vbctl.c $(PURE_SRC) app/fileutil.c $(LIBS)

$(BUILD)/media/%.o: modules/media/%.c $(wildcard modules/media/*.h)
	@mkdir -p $(BUILD)/media
	@echo "  CC  $<"
	@$(CC) -std=gnu11 -O2 -g $(WARN) $(SANFLAGS) $(REC_CFLAGS) -c -o $@ $<

$(BUILD)/vb-media: $(MEDIA_OBJ)
	@echo "  LD  $@"
	@$(CC) $(LDFLAGS) -o $@ $(MEDIA_OBJ) $(MEDIA_LIBS)

# The relay's load generator (tests/bench/mediaload.c): real ICE, DTLS, SRTP.
$(BUILD)/mediaload: tests/bench/mediaload.c modules/media/sec.c modules/media/srtpossl.c modules/media/stun.c $(wildcard modules/media/*.h)
	@mkdir -p $(BUILD)
	@echo "  CC  $@"
	@$(CC) -std=gnu11 -O2 -g $(WARN) -Imodules/media -o $@ tests/bench/mediaload.c \
	    modules/media/sec.c modules/media/srtpossl.c modules/media/stun.c -lssl -lcrypto -lsrtp2 -ljansson -lz -lcurl

# SRTP per packet, NSS against our OpenSSL primitives (tests/bench/srtpbench.c).
$(BUILD)/srtpbench: tests/bench/srtpbench.c modules/media/srtpossl.c modules/media/srtpossl.h
	@mkdir -p $(BUILD)
	@echo "  CC  $@"
	@$(CC) -std=gnu11 -O2 -g $(WARN) -Imodules/media -o $@ tests/bench/srtpbench.c \
	    modules/media/srtpossl.c -lcrypto -lsrtp2

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
	rm -rf build build-san build-fuzz build-vendor static/vendor
