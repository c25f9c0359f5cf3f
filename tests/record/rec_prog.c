/* Small programs for `exectrace record`, one per mode (argv[1]).  Each prints
 * the same standard output and exits with the same status whether it is
 * traced or not; facts the test driver needs to judge the trace (object
 * addresses, thread ids, counts) go to standard error as "key=value" lines.
 * The waits are forced: a thread that must block is seen asleep in the
 * kernel (/proc/self/task/TID/stat) before it is released, so each mode
 * causes a known number of contended waits. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int tid(void) {
  return (int)syscall(SYS_gettid);
}

static void die(const char *what) {
  fprintf(stderr, "rec_prog: %s: %s\n", what, strerror(errno));
  exit(99);
}

/* True when thread t sleeps in the kernel (state S) on two looks 2 ms apart. */
static bool asleep_once(int t) {
  char path[64], buf[512];
  snprintf(path, sizeof path, "/proc/self/task/%d/stat", t);
  int fd = open(path, O_RDONLY);
  if (fd < 0) return false;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return false;
  buf[n] = '\0';
  char *p = strrchr(buf, ')');
  return p && p[1] == ' ' && p[2] == 'S';
}

static void wait_asleep(int t) {
  struct timespec ts = {0, 2000000};
  for (;;) {
    if (asleep_once(t)) {
      nanosleep(&ts, NULL);
      if (asleep_once(t)) return;
    }
    nanosleep(&ts, NULL);
  }
}

static void spin_until(atomic_int *v, int want) {
  struct timespec ts = {0, 200000};
  while (atomic_load(v) != want) nanosleep(&ts, NULL);
}

/* ---- threads ---- */

static atomic_int named_ready;

static void *named_worker(void *arg) {
  long i = (long)arg;
  char name[16];
  if (i != 0) {
    snprintf(name, sizeof name, "worker-%ld", i);
    pthread_setname_np(pthread_self(), name);
  } else {
    spin_until(&named_ready, 1); /* main names this one */
  }
  int fd = open("/dev/null", O_WRONLY);
  if (fd >= 0) {
    if (write(fd, "x", 1) != 1) die("write");
    close(fd);
  }
  long sum = 0;
  for (long k = 0; k < 100000 * (i + 1); k++) sum += k % 7;
  return (void *)(sum % 1000);
}

static int mode_threads(void) {
  pthread_t th[4];
  for (long i = 0; i < 4; i++)
    if (pthread_create(&th[i], NULL, named_worker, (void *)i) != 0) die("pthread_create");
  pthread_setname_np(th[0], "named-out");
  atomic_store(&named_ready, 1);
  long total = 0;
  for (int i = 0; i < 4; i++) {
    void *r;
    pthread_join(th[i], &r);
    total += (long)r;
    fprintf(stderr, "join=%#lx\n", (unsigned long)th[i]);
  }
  printf("threads: 4 joined, total %ld\n", total);
  return 0;
}

/* ---- mutex and rwlock contention ---- */

#define K_MUTEX 5
#define K_RWLOCK 3
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static pthread_barrier_t bar;
static atomic_int waiter_tid, about_to_lock;

static void *mutex_waiter(void *arg) {
  atomic_store(&waiter_tid, tid());
  for (int i = 0; i < K_MUTEX; i++) {
    pthread_barrier_wait(&bar); /* the holder has the lock */
    atomic_store(&about_to_lock, 1);
    pthread_mutex_lock(&m); /* blocks */
    atomic_store(&about_to_lock, 0);
    pthread_mutex_unlock(&m);
    pthread_barrier_wait(&bar);
  }
  for (int i = 0; i < K_RWLOCK; i++) {
    pthread_barrier_wait(&bar);
    atomic_store(&about_to_lock, 1);
    pthread_rwlock_rdlock(&rw); /* blocks behind the writer */
    atomic_store(&about_to_lock, 0);
    pthread_rwlock_unlock(&rw);
    pthread_barrier_wait(&bar);
  }
  return NULL;
}

static int mode_mutex(void) {
  pthread_barrier_init(&bar, NULL, 2);
  pthread_t w;
  if (pthread_create(&w, NULL, mutex_waiter, NULL) != 0) die("pthread_create");
  for (int i = 0; i < K_MUTEX; i++) {
    pthread_mutex_lock(&m);
    pthread_barrier_wait(&bar);
    spin_until(&about_to_lock, 1);
    wait_asleep(atomic_load(&waiter_tid));
    pthread_mutex_unlock(&m);
    pthread_barrier_wait(&bar);
  }
  for (int i = 0; i < K_RWLOCK; i++) {
    pthread_rwlock_wrlock(&rw);
    pthread_barrier_wait(&bar);
    spin_until(&about_to_lock, 1);
    wait_asleep(atomic_load(&waiter_tid));
    pthread_rwlock_unlock(&rw);
    pthread_barrier_wait(&bar);
  }
  pthread_join(w, NULL);
  /* Uncontended: no waits. */
  for (int i = 0; i < 10000; i++) {
    pthread_mutex_lock(&m);
    pthread_mutex_unlock(&m);
    pthread_rwlock_rdlock(&rw);
    pthread_rwlock_unlock(&rw);
  }
  fprintf(stderr, "mutex=%p\nrwlock=%p\nholder=%d\nwaiter=%d\n", (void *)&m, (void *)&rw, tid(),
          atomic_load(&waiter_tid));
  printf("mutex: %d contended mutex waits, %d rwlock waits\n", K_MUTEX, K_RWLOCK);
  return 0;
}

/* ---- condition variables, semaphores, barriers ---- */

#define K_COND 4
#define K_SEM 3
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER, cv_all = PTHREAD_COND_INITIALIZER;
static int ready, gone;
static atomic_int cond_waiting, sem_tid;
static sem_t sem;

static void *cond_consumer(void *arg) {
  for (int i = 0; i < K_COND; i++) {
    pthread_mutex_lock(&m);
    atomic_store(&cond_waiting, 1);
    while (!ready) pthread_cond_wait(&cv, &m);
    ready = 0;
    pthread_mutex_unlock(&m);
  }
  return NULL;
}

static void *sem_consumer(void *arg) {
  atomic_store(&sem_tid, tid());
  for (int i = 0; i < K_SEM; i++) {
    atomic_store(&about_to_lock, i + 1);
    while (sem_wait(&sem) != 0) {}
  }
  for (int i = 0; i < 3; i++) pthread_barrier_wait(&bar);
  return NULL;
}

static atomic_int all_waiting;
static void *broadcast_waiter(void *arg) {
  pthread_mutex_lock(&m);
  atomic_fetch_add(&all_waiting, 1);
  while (!gone) pthread_cond_wait(&cv_all, &m);
  pthread_mutex_unlock(&m);
  return NULL;
}

static int mode_cond(void) {
  pthread_t c;
  if (pthread_create(&c, NULL, cond_consumer, NULL) != 0) die("pthread_create");
  for (int i = 0; i < K_COND; i++) {
    spin_until(&cond_waiting, 1);
    pthread_mutex_lock(&m); /* free only once the consumer waits in cond_wait */
    atomic_store(&cond_waiting, 0);
    ready = 1;
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&m);
  }
  pthread_join(c, NULL);

  sem_init(&sem, 0, 0);
  pthread_barrier_init(&bar, NULL, 2);
  pthread_t s;
  if (pthread_create(&s, NULL, sem_consumer, NULL) != 0) die("pthread_create");
  for (int i = 0; i < K_SEM; i++) {
    spin_until(&about_to_lock, i + 1);
    wait_asleep(atomic_load(&sem_tid));
    sem_post(&sem);
  }
  for (int i = 0; i < 3; i++) pthread_barrier_wait(&bar);
  pthread_join(s, NULL);

  pthread_t b[3];
  for (int i = 0; i < 3; i++)
    if (pthread_create(&b[i], NULL, broadcast_waiter, NULL) != 0) die("pthread_create");
  spin_until(&all_waiting, 3);
  pthread_mutex_lock(&m); /* all three are in cond_wait now */
  gone = 1;
  pthread_cond_broadcast(&cv_all);
  pthread_mutex_unlock(&m);
  for (int i = 0; i < 3; i++) pthread_join(b[i], NULL);
  /* No waiter: a signal records no wake. */
  for (int i = 0; i < 5; i++) pthread_cond_signal(&cv);
  fprintf(stderr, "cond=%p\ncond_all=%p\nsem=%p\nbarrier=%p\nmain=%d\n", (void *)&cv,
          (void *)&cv_all, (void *)&sem, (void *)&bar, tid());
  printf("cond: %d signals, %d posts, 3 barrier rounds, 1 broadcast to 3\n", K_COND, K_SEM);
  return 0;
}

/* ---- sleeps ---- */

static void on_alarm(int sig) {
  (void)sig;
}

static int mode_sleep(void) {
  struct timespec ts = {0, 1000000};
  for (int i = 0; i < 3; i++) nanosleep(&ts, NULL);
  for (int i = 0; i < 2; i++) clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL);
  for (int i = 0; i < 2; i++) usleep(1000);
  sleep(0);
  /* A sleep cut short by a signal: EINTR and the time left, as untraced. */
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm; /* no SA_RESTART */
  sigaction(SIGALRM, &sa, NULL);
  struct itimerval it = {{0, 0}, {0, 20000}};
  setitimer(ITIMER_REAL, &it, NULL);
  struct timespec longer = {5, 0}, rem = {0, 0};
  errno = 0;
  int r = nanosleep(&longer, &rem);
  int e = errno;
  printf("sleep: 8 sleeps; interrupted nanosleep returned %d errno %s, time left %s\n", r,
         e == EINTR ? "EINTR" : strerror(e), rem.tv_sec >= 4 ? "yes" : "no");
  return 0;
}

/* ---- I/O ---- */

static void must(bool ok, const char *what) {
  if (!ok) die(what);
}

static int mode_io(const char *dir) {
  char buf[256];
  int sp[2];
  must(socketpair(AF_UNIX, SOCK_STREAM, 0, sp) == 0, "socketpair");
  errno = EXDEV; /* successful calls must leave errno alone */
  must(write(sp[0], "hello", 5) == 5 && read(sp[1], buf, sizeof buf) == 5, "write/read");
  must(send(sp[0], "abc", 3, 0) == 3 && recv(sp[1], buf, sizeof buf, 0) == 3, "send/recv");
  must(sendto(sp[0], "defg", 4, 0, NULL, 0) == 4 && recvfrom(sp[1], buf, sizeof buf, 0, NULL, NULL) == 4,
       "sendto/recvfrom");
  char s12[] = "12", s345[] = "345";
  struct iovec iov[2] = {{s12, 2}, {s345, 3}};
  struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
  must(sendmsg(sp[0], &mh, 0) == 5, "sendmsg");
  struct iovec rv = {buf, sizeof buf};
  struct msghdr rh = {.msg_iov = &rv, .msg_iovlen = 1};
  must(recvmsg(sp[1], &rh, 0) == 5, "recvmsg");
  must(writev(sp[0], iov, 2) == 5 && readv(sp[1], &rv, 1) == 5, "writev/readv");
  int saved = errno;

  /* TCP on 127.0.0.1, port chosen by the kernel. */
  int ls = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t al = sizeof a;
  must(ls >= 0 && bind(ls, (struct sockaddr *)&a, sizeof a) == 0 && listen(ls, 4) == 0 &&
           getsockname(ls, (struct sockaddr *)&a, &al) == 0, "listen");
  int cs = socket(AF_INET, SOCK_STREAM, 0);
  must(cs >= 0 && connect(cs, (struct sockaddr *)&a, sizeof a) == 0, "connect");
  struct pollfd pf = {ls, POLLIN, 0};
  must(poll(&pf, 1, 1000) == 1, "poll");
  int as = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
  must(as >= 0, "accept4");
  must(write(cs, "ping", 4) == 4, "tcp write");
  fd_set rs;
  FD_ZERO(&rs);
  FD_SET(as, &rs);
  struct timeval tv = {1, 0};
  must(select(as + 1, &rs, NULL, NULL, &tv) == 1, "select");
  must(read(as, buf, sizeof buf) == 4, "tcp read");
  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = cs}, out;
  must(ep >= 0 && epoll_ctl(ep, EPOLL_CTL_ADD, cs, &ev) == 0, "epoll_ctl");
  must(write(as, "pong", 4) == 4 && epoll_wait(ep, &out, 1, 1000) == 1, "epoll_wait");
  struct timespec ts = {1, 0};
  struct pollfd cp = {cs, POLLIN, 0};
  must(ppoll(&cp, 1, &ts, NULL) == 1, "ppoll");
  FD_ZERO(&rs);
  FD_SET(cs, &rs);
  must(pselect(cs + 1, &rs, NULL, NULL, &ts, NULL) == 1, "pselect");
  must(recv(cs, buf, sizeof buf, 0) == 4, "tcp recv");
  must(epoll_pwait(ep, &out, 1, 0, NULL) == 0, "epoll_pwait");
  close(ep);
  close(as);
  close(cs);
  close(ls);

  /* A file. */
  char path[4096];
  snprintf(path, sizeof path, "%s/rec_io.%d.tmp", dir, (int)getpid());
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
  must(fd >= 0, "open");
  must(pwrite(fd, "0123456789", 10, 0) == 10 && fsync(fd) == 0, "pwrite/fsync");
  must(pread(fd, buf, 4, 3) == 4 && memcmp(buf, "3456", 4) == 0, "pread");
  close(fd);
  fd = openat(AT_FDCWD, path, O_RDONLY);
  must(fd >= 0 && read(fd, buf, sizeof buf) == 10, "openat/read");
  close(fd);
  unlink(path);

  /* A pipe, then a descriptor number reused for another kind. */
  int p[2];
  must(pipe(p) == 0 && write(p[1], "pipe", 4) == 4 && read(p[0], buf, sizeof buf) == 4, "pipe");
  close(p[0]);
  close(p[1]);
  must(errno == saved, "errno kept");

  /* Failures keep their errno. */
  errno = 0;
  ssize_t r = read(-1, buf, 1);
  int e1 = errno;
  errno = 0;
  int r2 = close(-1);
  int e2 = errno;
  fprintf(stderr, "sp0=%d\nsp1=%d\n", sp[0], sp[1]);
  close(sp[0]);
  close(sp[1]);
  printf("io: all transfers done; errno kept %s; read(-1)=%zd %s; close(-1)=%d %s\n",
         saved == EXDEV ? "yes" : "no", r, e1 == EBADF ? "EBADF" : "?", r2, e2 == EBADF ? "EBADF" : "?");
  return 0;
}

/* ---- fork and exec ---- */

static atomic_int stop_spin;
static void *fork_busy(void *arg) {
  int fd = open("/dev/null", O_WRONLY);
  while (!atomic_load(&stop_spin)) {
    pthread_mutex_lock(&m);
    if (write(fd, "x", 1) != 1) break;
    pthread_mutex_unlock(&m);
  }
  close(fd);
  return NULL;
}

static int mode_fork(const char *self) {
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL);
    printf("child: hello\n");
    fflush(stdout);
    exit(7);
  }
  int st;
  waitpid(pid, &st, 0);
  printf("fork: child exited %d\n", WEXITSTATUS(st));
  /* Forks while another thread takes a lock and writes all the time. */
  pthread_t t;
  if (pthread_create(&t, NULL, fork_busy, NULL) != 0) die("pthread_create");
  int ok = 0;
  for (int i = 0; i < 10; i++) {
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
      pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
      pthread_mutex_lock(&fresh);
      pthread_mutex_unlock(&fresh);
      int fd = open("/dev/null", O_WRONLY);
      if (fd < 0 || write(fd, "y", 1) != 1) _exit(1);
      close(fd);
      _exit(0);
    }
    waitpid(pid, &st, 0);
    ok += WIFEXITED(st) && WEXITSTATUS(st) == 0;
  }
  atomic_store(&stop_spin, 1);
  pthread_join(t, NULL);
  printf("fork: %d of 10 children with a busy sibling thread exited 0\n", ok);
  fflush(stdout);
  /* A failing exec leaves the program running. */
  execl("/nonexistent/program", "program", (char *)NULL);
  printf("exec of a missing program failed: %s\n", errno == ENOENT ? "ENOENT" : "?");
  fflush(stdout);
  execl(self, self, "exec2", (char *)NULL);
  die("exec");
  return 1;
}

static int mode_exec2(void) {
  struct timespec ts = {0, 1000000};
  nanosleep(&ts, NULL);
  printf("exec2: the new image runs\n");
  return 5;
}

/* ---- signals ---- */

static int sig_pipe[2];
static atomic_int handled;

static void on_tick(int sig) {
  int e = errno;
  if (write(sig_pipe[1], "s", 1) == 1) atomic_fetch_add(&handled, 1);
  errno = e;
}

static int mode_signal(void) {
  must(pipe(sig_pipe) == 0, "pipe");
  fcntl(sig_pipe[0], F_SETFL, O_NONBLOCK);
  fcntl(sig_pipe[1], F_SETFL, O_NONBLOCK);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_tick;
  sa.sa_flags = SA_RESTART;
  sigaction(SIGALRM, &sa, NULL);
  sigset_t before, after;
  sigemptyset(&before);
  sigemptyset(&after);
  sigprocmask(SIG_BLOCK, NULL, &before);
  struct itimerval it = {{0, 500}, {0, 500}};
  setitimer(ITIMER_REAL, &it, NULL);
  int fd = open("/dev/null", O_WRONLY);
  char buf[64];
  long drained = 0;
  struct timespec t0, now;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  int bad_errno = 0;
  do {
    errno = EXDEV;
    if (write(fd, "0123456789", 10) != 10) die("write");
    pthread_mutex_lock(&m);
    pthread_mutex_unlock(&m);
    ssize_t n = read(sig_pipe[0], buf, sizeof buf);
    if (n > 0) drained += n;
    else if (errno != EAGAIN) bad_errno++;
    if (n > 0 && errno != EXDEV) bad_errno++;
    clock_gettime(CLOCK_MONOTONIC, &now);
  } while ((now.tv_sec - t0.tv_sec) * 1000000000L + (now.tv_nsec - t0.tv_nsec) < 300000000L);
  struct itimerval off = {{0, 0}, {0, 0}};
  setitimer(ITIMER_REAL, &off, NULL);
  sigprocmask(SIG_BLOCK, NULL, &after);
  ssize_t n;
  bool same_mask = true;
  for (int i = 1; i < SIGRTMAX; i++) same_mask &= sigismember(&before, i) == sigismember(&after, i);
  while ((n = read(sig_pipe[0], buf, sizeof buf)) > 0) drained += n;
  fprintf(stderr, "handled=%d\nsigpipe=%d\n", atomic_load(&handled), sig_pipe[1]);
  printf("signal: handlers ran: %s; all drained: %s; errno ok: %s; mask unchanged: %s\n",
         atomic_load(&handled) > 10 ? "yes" : "no", drained == atomic_load(&handled) ? "yes" : "no",
         bad_errno == 0 ? "yes" : "no", same_mask ? "yes" : "no");
  return 0;
}

/* ---- exit from a thread, main thread leaving first ---- */

static int block_pipe[2];

static void *blocked_cond(void *arg) {
  pthread_mutex_lock(&m);
  for (;;) pthread_cond_wait(&cv, &m);
  return NULL;
}
static void *blocked_read(void *arg) {
  char c;
  for (;;)
    if (read(block_pipe[0], &c, 1) < 0 && errno != EINTR) break;
  return NULL;
}
static void *blocked_sleep(void *arg) {
  for (;;) {
    struct timespec ts = {0, 3000000};
    nanosleep(&ts, NULL);
  }
  return NULL;
}
static void *exiter(void *arg) {
  struct timespec ts = {0, 50000000};
  nanosleep(&ts, NULL);
  printf("exitthread: exiting from a thread\n");
  exit(3);
}

static int mode_exitthread(void) {
  must(pipe(block_pipe) == 0, "pipe");
  pthread_t t[4];
  pthread_create(&t[0], NULL, blocked_cond, NULL);
  pthread_create(&t[1], NULL, blocked_read, NULL);
  pthread_create(&t[2], NULL, blocked_sleep, NULL);
  pthread_create(&t[3], NULL, exiter, NULL);
  pthread_join(t[3], NULL);
  return 0;
}

static void *late_worker(void *arg) {
  struct timespec ts = {0, 50000000};
  nanosleep(&ts, NULL);
  printf("mainexit: the worker finishes after main left\n");
  fflush(stdout);
  return NULL;
}

static int mode_mainexit(void) {
  pthread_t t;
  pthread_create(&t, NULL, late_worker, NULL);
  pthread_exit(NULL);
}

/* ---- cancellation ---- */

static atomic_int cancel_ready;
static void unlock_m(void *arg) {
  pthread_mutex_unlock(arg);
}
static void *cancel_cond(void *arg) {
  pthread_mutex_lock(&m);
  pthread_cleanup_push(unlock_m, &m);
  atomic_fetch_add(&cancel_ready, 1);
  for (;;) pthread_cond_wait(&cv, &m);
  pthread_cleanup_pop(1);
  return NULL;
}
static void *cancel_read(void *arg) {
  char c;
  atomic_fetch_add(&cancel_ready, 1);
  for (;;)
    if (read(block_pipe[0], &c, 1) < 0) break;
  return NULL;
}
static void *cancel_sleep(void *arg) {
  atomic_fetch_add(&cancel_ready, 1);
  for (;;) sleep(10);
  return NULL;
}

static int mode_cancel(void) {
  must(pipe(block_pipe) == 0, "pipe");
  pthread_t t[3];
  pthread_create(&t[0], NULL, cancel_cond, NULL);
  pthread_create(&t[1], NULL, cancel_read, NULL);
  pthread_create(&t[2], NULL, cancel_sleep, NULL);
  spin_until(&cancel_ready, 3);
  struct timespec ts = {0, 30000000};
  nanosleep(&ts, NULL);
  int canceled = 0;
  for (int i = 0; i < 3; i++) {
    pthread_cancel(t[i]);
    void *r;
    pthread_join(t[i], &r);
    canceled += r == PTHREAD_CANCELED;
  }
  /* The waiter of cv was cancelled: signals find no waiter now. */
  for (int i = 0; i < 5; i++) pthread_cond_signal(&cv);
  fprintf(stderr, "cond=%p\n", (void *)&cv);
  printf("cancel: %d of 3 threads cancelled\n", canceled);
  return 0;
}

/* ---- deep recursion ---- */

static int devnull = -1;
static __attribute__((noinline)) long recurse(int depth) {
  if (depth == 0) {
    if (write(devnull, "deep", 4) != 4) die("write");
    return 1;
  }
  long r = recurse(depth - 1) + 1;
  __asm__ volatile("" ::: "memory"); /* not a tail call */
  return r;
}

static int mode_recurse(void) {
  devnull = open("/dev/null", O_WRONLY);
  long r = recurse(20000);
  fprintf(stderr, "devnull=%d\n", devnull);
  printf("recurse: depth %ld\n", r);
  return 0;
}

/* ---- CPU time, for the sampler ---- */

static int mode_spin(void) {
  struct timespec t0, now;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
  volatile unsigned long x = 0;
  do {
    for (int i = 0; i < 100000; i++) x += (unsigned long)i * 7;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  } while ((now.tv_sec - t0.tv_sec) * 1000000000L + (now.tv_nsec - t0.tv_nsec) < 300000000L);
  printf("spin: 0.3 s of CPU time\n");
  return 0;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc < 2) {
    fprintf(stderr, "usage: rec_prog MODE [DIR]\n");
    return 2;
  }
  const char *mode = argv[1];
  if (strcmp(mode, "threads") == 0) return mode_threads();
  if (strcmp(mode, "mutex") == 0) return mode_mutex();
  if (strcmp(mode, "cond") == 0) return mode_cond();
  if (strcmp(mode, "sleep") == 0) return mode_sleep();
  if (strcmp(mode, "io") == 0) return mode_io(argc > 2 ? argv[2] : "/tmp");
  if (strcmp(mode, "fork") == 0) return mode_fork(argv[0]);
  if (strcmp(mode, "exec2") == 0) return mode_exec2();
  if (strcmp(mode, "signal") == 0) return mode_signal();
  if (strcmp(mode, "exitthread") == 0) return mode_exitthread();
  if (strcmp(mode, "mainexit") == 0) return mode_mainexit();
  if (strcmp(mode, "cancel") == 0) return mode_cancel();
  if (strcmp(mode, "recurse") == 0) return mode_recurse();
  if (strcmp(mode, "spin") == 0) return mode_spin();
  fprintf(stderr, "rec_prog: unknown mode '%s'\n", mode);
  return 2;
}
