# focker: plain GNU make with pkg-config.
#
#   make            build/focker
#   make check      unit tests on the fake kernel (ASan+UBSan; VALGRIND=1 for memcheck),
#                   fault loops, the seam lint; unprivileged
#   make e2e        the real binary on the real kernel (root)
#   make vm-check   the e2e suite under QEMU on several kernels, the kernel matrix (root)
#   make test       check, then e2e when root (the README's and CI's test command)
#   make demo       build a busybox bundle and run a container in it (root)
#   make bench      focker vs crun vs runc, as ratios
#   make bench-pull focker pull vs skopeo copy from a local registry, as a ratio
#   make bench-unpack  focker load of a large layer vs tar -xzf and umoci unpack, as ratios
#   make bench-scale   100 detached networked containers; focker run --rm vs podman run --rm
#   make install    /usr/local/bin/focker, /usr/local/libexec/focker/focker-fetch

CC       ?= cc
PREFIX   ?= /usr/local
# libarchive reads layers and archives (only its tar format and gzip/zstd/xz/bzip2 filters are
# referenced, so the static link pulls in no libxml2/ICU); Nettle hashes (sha256), and is
# libarchive's own dependency already.
PKGS     := jansson libseccomp libarchive nettle
CFLAGS   ?= -O2 -g
WARN     := -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -Wshadow \
            -Wformat=2 -Wno-format-nonliteral
CPPFLAGS += -I. -D_GNU_SOURCE -MMD -MP $(shell pkg-config --cflags $(PKGS)) \
            -DFOCKER_FETCH_PATH='"$(PREFIX)/libexec/focker/focker-fetch"'
# focker-fetch, the registry transfer helper: dynamic, because libcurl cannot be linked
# statically on Debian 12 (see CONTRIBUTING.md).  libssl: libcurl's own TLS library, asked
# directly only to learn that a registry wants a client certificate.
FETCH_PKGS := libcurl jansson libssl
# build/focker is linked statically unless DYNAMIC=1: a runtime lives a few milliseconds, and
# the dynamic loader alone costs about a quarter of that (see CONTRIBUTING.md).
ifeq ($(DYNAMIC),1)
LIBS     := $(shell pkg-config --libs $(PKGS))
FOCKER_LDFLAGS :=
else
LIBS     := $(shell pkg-config --static --libs $(PKGS))
FOCKER_LDFLAGS := -static
endif
TEST_LIBS := $(shell pkg-config --libs $(PKGS) cmocka)

B := build

LIB_SRCS  := $(wildcard core/*.c) $(wildcard sys/*.c)
CLI_SRCS  := $(wildcard cli/*.c)
FAKE_SRCS := $(wildcard sys-fake/*.c)
TEST_SUPPORT := $(filter-out tests/unit/test_%.c,$(wildcard tests/unit/*.c))
TEST_SRCS := $(wildcard tests/unit/test_*.c)

# Release objects
OBJ := $(B)/obj
LIB_OBJS := $(patsubst %.c,$(OBJ)/%.o,$(LIB_SRCS))
CLI_OBJS := $(patsubst %.c,$(OBJ)/%.o,$(CLI_SRCS))

# Test objects: no optimisation, sanitizers unless running under valgrind.  Each flavour
# builds into its own directory so switching flavours never links mixed objects.
ifeq ($(VALGRIND),1)
FLAVOR := valgrind
else ifeq ($(COVERAGE),1)
FLAVOR := coverage
else
FLAVOR := asan
endif
TOBJ := $(B)/tobj-$(FLAVOR)
TBIN := $(B)/tests-$(FLAVOR)
TESTS := $(patsubst tests/unit/%.c,$(TBIN)/%,$(TEST_SRCS))
ifeq ($(VALGRIND),1)
TEST_CFLAGS := -O0 -g
TEST_RUN := valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
            --max-stackframe=8388608
else ifeq ($(COVERAGE),1)
TEST_CFLAGS := -O0 -g --coverage
TEST_RUN :=
else
TEST_CFLAGS := -O0 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
TEST_RUN :=
endif
TLIB_OBJS  := $(patsubst %.c,$(TOBJ)/%.o,$(LIB_SRCS) $(FAKE_SRCS) $(TEST_SUPPORT))

.SECONDARY:
.PHONY: all check e2e test demo bench bench-pull bench-unpack bench-scale install clean lint-seam format format-check static coverage fuzz vm-check

all: $(B)/focker $(B)/focker-fetch

$(B)/focker: $(CLI_OBJS) $(LIB_OBJS)
	$(CC) $(CFLAGS) $(LDFLAGS) $(FOCKER_LDFLAGS) -o $@ $^ $(LIBS)

$(B)/focker-fetch: cli/fetch/focker-fetch.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(WARN) $(LDFLAGS) $(shell pkg-config --cflags $(FETCH_PKGS)) -o $@ $< \
	  $(shell pkg-config --libs $(FETCH_PKGS))

static: $(B)/focker

$(OBJ)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -c -o $@ $<

$(TOBJ)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(TEST_CFLAGS) $(WARN) -DFOCKER_TEST=1 -c -o $@ $<

$(TBIN)/%: $(TOBJ)/tests/unit/%.o $(TLIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) -o $@ $^ $(TEST_LIBS)

check: $(TESTS) lint-seam
	@FOCKER_TEST_RUN="$(TEST_RUN)" FOCKER_TEST_LABEL=unit-$(FLAVOR) tests/unit/run.sh $(TESTS)

# core/ must reach the kernel only through sys/: no raw entry point may be undefined in its
# objects (they would resolve to libc's wrappers).
SEAM_FORBIDDEN := open openat openat2 open64 close read write mount umount umount2 pivot_root \
  chroot chdir fchdir clone clone3 fork vfork unshare setns execve execv execvp execvpe waitpid \
  waitid wait4 kill mkdir mkdirat mknod mknodat symlink symlinkat unlink unlinkat rename renameat \
  fchown fchownat chmod fchmod stat fstat fstatat lstat syscall prctl setresuid setresgid \
  setgroups setrlimit prlimit prlimit64 sethostname setdomainname pipe pipe2 socket bind \
  connect accept accept4 sendmsg recvmsg dup dup2 dup3 fcntl poll flock fsync opendir readdir \
  fopen getdents64 ioctl setsid umask capset seccomp personality keyctl memfd_create
lint-seam: $(patsubst %.c,$(OBJ)/%.o,$(wildcard core/*.c))
	@bad=0; for o in $^; do \
	  for s in $$(nm -u $$o | awk '{print $$2}' | sed 's/@.*//'); do \
	    for f in $(SEAM_FORBIDDEN); do \
	      if [ "$$s" = "$$f" ]; then echo "seam lint: $$o calls $$s directly (use sys_$$f)"; bad=1; fi; \
	    done; \
	  done; \
	done; \
	if [ $$bad = 0 ]; then echo "seam lint: core/ reaches the kernel only through sys/"; fi; \
	exit $$bad

e2e: $(B)/focker $(B)/focker-fetch
	tests/e2e/run.sh

# The e2e suite and the feature probes on this kernel and, under QEMU (TCG), on Debian's 6.1
# (cgroup v1, v2) and 6.12 (v2) kernels; the matrix goes to build/vm-matrix.{md,json} (root).
vm-check: $(B)/focker $(B)/focker-fetch $(B)/enosys
	vm/check.sh

# Test harness: runs a command with openat2, clone3 and mount_setattr failing with ENOSYS.
$(B)/enosys: tests/e2e/enosys.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(WARN) -static -o $@ $<

# Unit tests under gcov, an lcov report in build/coverage/, a summary line for core/ and sys-fake/.
coverage:
	tests/coverage.sh

# libFuzzer targets (clang) over the parsers and the in-root path walk, each run FUZZ_SECONDS;
# everything they build and find goes under $(B)/fuzz.
FUZZ_SECONDS ?= 15
fuzz:
	FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_OUT=$(B)/fuzz tests/fuzz/run.sh

test: $(B)/focker $(B)/focker-fetch
	tests/run-all.sh

demo: $(B)/focker
	FOCKER=$(abspath $(B))/focker DEMO_DIR=$(abspath $(B))/demo tests/e2e/demo.sh

bench: $(B)/focker
	FOCKER=$(abspath $(B))/focker BENCH_OUT=$(abspath $(B))/bench tests/bench/bench.sh

# focker pull vs skopeo copy from a local docker-registry, as a ratio (root).
bench-scale: $(B)/focker
	FOCKER=$(abspath $(B))/focker tests/bench/scale.sh

bench-unpack: $(B)/focker
	FOCKER=$(abspath $(B))/focker tests/bench/unpack.sh

bench-pull: $(B)/focker $(B)/focker-fetch
	FOCKER=$(abspath $(B))/focker tests/bench/pull.sh

install: $(B)/focker $(B)/focker-fetch
	install -D -m 0755 $(B)/focker $(DESTDIR)$(PREFIX)/bin/focker
	install -D -m 0755 $(B)/focker-fetch $(DESTDIR)$(PREFIX)/libexec/focker/focker-fetch

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

format-check:
	@clang-format --dry-run --Werror $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(B)

-include $(shell find $(B) -name '*.d' 2>/dev/null)
