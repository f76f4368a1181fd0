/*===- bench/cpp/alloc_count.c - Count heap allocations (LD_PRELOAD) --------===*
 *
 * Counts every malloc, calloc, realloc, aligned_alloc, memalign, valloc and
 * posix_memalign of a process (operator new goes through them) and, at exit,
 * writes the total to the file named by $PTL_ALLOC_COUNT_FILE. bench/run.sh
 * preloads it into runs of N1 and N2 steps: (count2 - count1) / (N2 - N1) is
 * the steady-state number of heap allocations per step, whatever the engine.
 *
 *   gcc -O2 -shared -fPIC -o alloc_count.so alloc_count.c
 *
 * Linked into a program instead (bench/cpp/host_call*.cpp), it counts that
 * program's allocations, and ptl_alloc_count() reads the count so far.
 *   LD_PRELOAD=./alloc_count.so PTL_ALLOC_COUNT_FILE=out.txt ptlc run ...
 *
 *===----------------------------------------------------------------------===*/
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* glibc's own entry points: forwarding to them needs no dlsym (which allocates). */
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);

static unsigned long long count;

#define COUNT() __atomic_fetch_add(&count, 1, __ATOMIC_RELAXED)

/* The allocations counted so far (for programs that link this file). */
unsigned long long ptl_alloc_count(void) { return __atomic_load_n(&count, __ATOMIC_RELAXED); }

void *malloc(size_t n) { COUNT(); return __libc_malloc(n); }
void *calloc(size_t a, size_t b) { COUNT(); return __libc_calloc(a, b); }
void *realloc(void *p, size_t n) { COUNT(); return __libc_realloc(p, n); }
void *memalign(size_t al, size_t n) { COUNT(); return __libc_memalign(al, n); }
void *aligned_alloc(size_t al, size_t n) { COUNT(); return __libc_memalign(al, n); }
void *valloc(size_t n) { COUNT(); return __libc_memalign((size_t)sysconf(_SC_PAGESIZE), n); }
int posix_memalign(void **out, size_t al, size_t n) {
  if (al < sizeof(void *) || (al & (al - 1))) return EINVAL;
  COUNT();
  void *p = __libc_memalign(al, n);
  if (!p) return ENOMEM;
  *out = p;
  return 0;
}

__attribute__((destructor)) static void report(void) {
  const char *path = getenv("PTL_ALLOC_COUNT_FILE");
  if (!path) return;
  char buf[32];
  int len = snprintf(buf, sizeof buf, "%llu\n", __atomic_load_n(&count, __ATOMIC_RELAXED));
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return;
  if (write(fd, buf, (size_t)len) < 0) { /* nothing to do */ }
  close(fd);
}
