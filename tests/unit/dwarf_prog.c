/* The target of test_dwarf: a program built WITHOUT frame pointers (-O2
 * -fomit-frame-pointer, like a distribution's binaries) whose call chain
 * dwarf_a -> dwarf_b -> dwarf_c waits on a contended mutex, writes to a pipe
 * and burns CPU.  It does not link libexectrace: test_dwarf runs it with the
 * preload library.  It prints, for each of the three functions, its address
 * range in this process ("NAME LO HI" in hex), so the test can place frames.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default"), noinline))

EXPORT void dwarf_a(int mode);
EXPORT void dwarf_b(int mode);
EXPORT void dwarf_c(int mode);

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int pipefd[2];
static volatile uint64_t sink;

static uint64_t cpu_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void dwarf_c(int mode) {
  if (mode == 0) { /* contended: main holds the lock */
    pthread_mutex_lock(&mu);
    pthread_mutex_unlock(&mu);
  } else if (mode == 1) {
    char b = 'x';
    if (write(pipefd[1], &b, 1) != 1) perror("write");
  } else {
    uint64_t end = cpu_ns() + 400000000u, x = sink;
    while (cpu_ns() < end)
      for (int i = 0; i < 1000; i++) x = x * 6364136223846793005ull + 1;
    sink = x;
  }
  __asm__ volatile("" ::: "memory");
}

void dwarf_b(int mode) {
  dwarf_c(mode);
  __asm__ volatile("" ::: "memory");
}

void dwarf_a(int mode) {
  dwarf_b(mode);
  __asm__ volatile("" ::: "memory");
}

static void *worker(void *arg) {
  (void)arg;
  dwarf_a(0);
  return NULL;
}

static void show(const char *name, uintptr_t fn) {
  Dl_info info;
  const unsigned long *sym = NULL;
  if (!dladdr1((const void *)fn, &info, (void **)&sym, RTLD_DL_SYMENT) || !sym) {
    printf("%s 0 0\n", name);
    return;
  }
  uintptr_t lo = (uintptr_t)info.dli_saddr;
  printf("%s %lx %lx\n", name, (unsigned long)lo, (unsigned long)(lo + sym[2]));
}

int main(void) {
  show("dwarf_a", (uintptr_t)dwarf_a);
  show("dwarf_b", (uintptr_t)dwarf_b);
  show("dwarf_c", (uintptr_t)dwarf_c);
  fflush(stdout);
  if (pipe(pipefd) != 0) return 1;
  pthread_mutex_lock(&mu);
  pthread_t th;
  pthread_create(&th, NULL, worker, NULL);
  struct timespec ts = {0, 100000000};
  nanosleep(&ts, NULL); /* the worker is waiting by now */
  pthread_mutex_unlock(&mu);
  pthread_join(th, NULL);
  dwarf_a(1);
  dwarf_a(2);
  return 0;
}
