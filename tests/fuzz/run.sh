#!/usr/bin/env bash
# run.sh: `make fuzz` = build every libFuzzer target (tests/fuzz/fuzz_*.c, clang with
# -fsanitize=fuzzer,address,undefined over core/, sys/ and the fake kernel) and run each for
# FUZZ_SECONDS (default 15) from its checked-in corpus tests/fuzz/corpus/<target>/.
# Everything built and found goes under $FUZZ_OUT (default build/fuzz; `make B=DIR fuzz` sets
# DIR/fuzz; relative to the repository): objects, targets, new inputs in corpus/<target>/
# (never into the checked-in seeds), and a crash's input, which fails the run.  Prints one line
# per target and a closing "fuzz: N passed, N failed" line.  Run some targets only:
# tests/fuzz/run.sh spec state
set -uo pipefail
cd "$(dirname "$0")/../.."
SECONDS_EACH=${FUZZ_SECONDS:-15}
CLANG=${CLANG:-clang}
B=${FUZZ_OUT:-build/fuzz}
if ! command -v "$CLANG" >/dev/null; then
  echo "fuzz: $CLANG not installed (apt-get install clang libclang-rt-14-dev), skipped"
  exit 0
fi
mkdir -p "$B/obj"
FLAGS=(-g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined)
CPP=(-I. -D_GNU_SOURCE -DFOCKER_TEST=1 $(pkg-config --cflags jansson))
LIBS=$(pkg-config --libs jansson libseccomp libarchive nettle)

# Objects, rebuilt when their source or any header is newer.
newest_h=$(find core sys sys-fake -name '*.h' -newer "$B/stamp" 2>/dev/null | head -1)
[ -e "$B/stamp" ] || newest_h=all
objs=()
for src in core/*.c sys/*.c sys-fake/*.c; do
  objs+=("$B/obj/${src//\//_}.o")
done
build_failed=0
for src in core/*.c sys/*.c sys-fake/*.c; do
  o="$B/obj/${src//\//_}.o"
  if [ -n "$newest_h" ] || [ ! -e "$o" ] || [ "$src" -nt "$o" ]; then
    echo "$src $o"
  fi
done | xargs -r -P "$(nproc)" -n 2 sh -c \
  "$CLANG ${FLAGS[*]} -fsanitize=fuzzer-no-link ${CPP[*]} -c -o \"\$1\" \"\$0\" || exit 255" ||
  build_failed=1
[ "$build_failed" = 0 ] && touch "$B/stamp"

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in tests/fuzz/fuzz_*.c; do
    t=${f#tests/fuzz/fuzz_}
    targets+=("${t%.c}")
  done
fi
passed=0
failed=0
for t in "${targets[@]}"; do
  bin="$B/fuzz_$t"
  if [ "$build_failed" != 0 ] ||
    ! "$CLANG" "${FLAGS[@]}" -fsanitize=fuzzer "${CPP[@]}" -o "$bin" "tests/fuzz/fuzz_$t.c" \
      "${objs[@]}" $LIBS; then
    echo "FAIL fuzz_$t (build)"
    failed=$((failed + 1))
    continue
  fi
  mkdir -p "$B/corpus/$t" "tests/fuzz/corpus/$t"
  log="$B/fuzz_$t.log"
  # tests/fuzz/<target>.supp: leaks of a library's own making (each one explained there)
  supp=()
  if [ -e "tests/fuzz/$t.supp" ]; then
    supp=(env "LSAN_OPTIONS=suppressions=tests/fuzz/$t.supp:print_suppressions=0")
  fi
  "${supp[@]}" "$bin" -max_total_time="$SECONDS_EACH" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$B/fuzz_$t-" \
    "$B/corpus/$t" "tests/fuzz/corpus/$t" >"$log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
  if [ "$rc" -eq 0 ]; then
    echo "ok   fuzz_$t (${execs:-?} execs in ${SECONDS_EACH}s, ${cov:-cov: ?}, corpus $(ls "$B/corpus/$t" | wc -l) new + $(ls "tests/fuzz/corpus/$t" | wc -l) seeds)"
    passed=$((passed + 1))
  else
    echo "FAIL fuzz_$t (exit $rc, ${execs:-?} execs)"
    grep -E '^==[0-9]+==ERROR|SUMMARY|^    #[0-9] |Test unit written' "$log" | head -30 | sed 's/^/    /'
    failed=$((failed + 1))
  fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
