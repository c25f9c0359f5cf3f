/* The CPU sampler: per-thread CPU-time timers and the signal handler that
 * records a cpu_sample with the interrupted thread's stack.
 *
 * Each thread the tracer knows gets a POSIX timer on its own CPU-time clock
 * (CLOCK_THREAD_CPUTIME_ID) that sends SIGPROF to that thread (SIGEV_THREAD_ID),
 * so a sample is taken only while the thread runs and charges that thread.
 * The timers are made with raw system calls (no allocation, no locks, so a
 * thread's set-up may run in any context), and carry a cookie in si_value
 * that tells our signals from the program's own SIGPROFs, which are passed to
 * the handler it had installed.  The handler stays installed once set: a
 * SIGPROF still pending when recording stops must not find the default
 * action, which would kill the program.
 */
#include <errno.h>
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "session.h"

#define ET_TIMER_COOKIE 0x45545350 /* "ETSP" */
#define ET_SAMPLE_SIGNAL SIGPROF

static struct sigaction previous;
static _Atomic int installed;
static _Atomic uint64_t period_ns;

static void chain(int sig, siginfo_t *si, void *uc) {
  if (previous.sa_flags & SA_SIGINFO) {
    if (previous.sa_sigaction) previous.sa_sigaction(sig, si, uc);
  } else if (previous.sa_handler != SIG_DFL && previous.sa_handler != SIG_IGN && previous.sa_handler) {
    previous.sa_handler(sig);
  }
}

ET_NO_ASAN static void on_sample(int sig, siginfo_t *si, void *ucv) {
  if (si == NULL || si->si_code != SI_TIMER || si->si_value.sival_int != ET_TIMER_COOKIE) {
    chain(sig, si, ucv);
    return;
  }
  if (!et__on()) return;
  int saved = errno;
  et__thread *t = et__tls;
  if ((uintptr_t)t >= 4096) {
    uintptr_t frames[ET_MAX_STACK_DEPTH];
    unsigned n = 0;
    if (ET_UNLIKELY(et__g.stack_dwarf)) {
      n = et__dwarf_sample(t, ucv, frames, et__g.stack_depth);
    } else {
#if defined(__x86_64__)
      const ucontext_t *uc = ucv;
      frames[n++] = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
      n += et__walk(t, (const void *)uc->uc_mcontext.gregs[REG_RBP], frames + 1,
                    et__g.stack_depth > 1 ? et__g.stack_depth - 1 : 0);
#else
      (void)ucv;
#endif
    }
    /* A sample stands for the CPU time since the last one: one period, plus
     * any the kernel folded into this signal. */
    uint64_t weight = atomic_load_explicit(&period_ns, memory_order_relaxed) *
                      (1u + (uint64_t)(si->si_overrun > 0 ? si->si_overrun : 0));
    et__w w;
    if (et__open(&w, ET_MAXLEN_EV_CPU_SAMPLE)) {
      uint32_t stk = n ? et__stack_intern(w.t, frames, n, et__stack_hash(frames, n)) : 0;
      uint8_t *p = et__head(&w, ET_EV_CPU_SAMPLE);
      et__close(&w, et__enc_cpu_sample(p, &w.s->last_obj, stk, weight));
    }
  }
  errno = saved;
}

int et__sampler_start(uint64_t hz) {
  if (hz == 0) return 0;
  atomic_store(&period_ns, 1000000000u / hz);
  if (atomic_exchange(&installed, 1)) return 0;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_sample;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigfillset(&sa.sa_mask);
  if (sigaction(ET_SAMPLE_SIGNAL, &sa, &previous) != 0) {
    atomic_store(&installed, 0);
    return -errno;
  }
  return 0;
}

/* The kernel's struct sigevent for SIGEV_THREAD_ID, without glibc's wrapper. */
struct ksigevent {
  union sigval value;
  int signo;
  int notify;
  int tid;
  int pad[12];
};

void et__sampler_thread_start(et__thread *t, uint64_t hz) {
  t->timer_id = -1;
  if (hz == 0 || !atomic_load(&installed)) return;
  struct ksigevent sev;
  memset(&sev, 0, sizeof sev);
  sev.value.sival_int = ET_TIMER_COOKIE;
  sev.signo = ET_SAMPLE_SIGNAL;
  sev.notify = 4; /* SIGEV_THREAD_ID */
  sev.tid = (int)t->tid;
  int id;
  if (syscall(SYS_timer_create, CLOCK_THREAD_CPUTIME_ID, &sev, &id) != 0) return;
  uint64_t ns = 1000000000u / hz;
  struct itimerspec its = {{(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)},
                           {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)}};
  if (syscall(SYS_timer_settime, id, 0, &its, NULL) != 0) {
    syscall(SYS_timer_delete, id);
    return;
  }
  atomic_store(&t->timer_id, id);
}

void et__sampler_thread_stop(et__thread *t) {
  int id = atomic_exchange(&t->timer_id, -1);
  if (id >= 0) syscall(SYS_timer_delete, id);
}
