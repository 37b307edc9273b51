#!/usr/bin/env bash
# Recording library (modules/media/rec*.c) under load: part of make bench,
# needs no stack (BENCH_ONLY=rec runs only this). tests/bench/recload.c
# writes REC_OPUS Opus recordings, REC_VP8 720p-like VP8 recordings and
# REC_MIX stereo mixes of REC_SECONDS of media each, as fast as the library
# takes them, and prints the cost and the worst call the relay's loop
# would see, then the close (flush, fsync, hash) times.
set -euo pipefail
cd "$(dirname "$0")/../.."
W=$(mktemp -d "${VB_VAR:-/tmp}/recbench.XXXXXX")
trap 'rm -rf "$W"' EXIT
cc -O2 -g -Wall -Wextra -Werror -o "$W/recload" tests/bench/recload.c modules/media/rec*.c \
    $(pkg-config --cflags --libs opus ogg libavformat libavcodec libavutil libcrypto) -lpthread -lm
"$W/recload" "$W" "${REC_OPUS:-200}" "${REC_VP8:-20}" "${REC_MIX:-30}" "${REC_SECONDS:-20}"
