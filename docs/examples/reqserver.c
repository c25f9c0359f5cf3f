/* reqserver: a small multi-threaded request server, traced with exectrace.
 *
 * The bundled example of the README's main command.  A listener on
 * 127.0.0.1 (a port the kernel picks) hands connections to a pool of worker
 * threads through a queue; each request ("GET key") is an exectrace task
 * with regions for parsing, a cache lookup under a contended lock, an
 * occasional slow "disk" read, and the reply; slow requests are logged.
 * Client threads in the same process generate the load over real sockets.
 * It shows what the API records by hand: tasks, regions, logs, lock waits
 * with the wake by the unlocking thread, socket system calls, counters.
 *
 * usage: reqserver [-o TRACE] [-c CLIENTS] [-n REQUESTS_PER_CLIENT] [-w WORKERS]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <exectrace/exectrace.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* ---- a mutex that tells the tracer when it waits and whom it wakes ---- */

typedef struct traced_mutex {
  pthread_mutex_t m;
  atomic_int waiters;
} traced_mutex;

static void tm_lock(traced_mutex *tm) {
  if (pthread_mutex_trylock(&tm->m) == 0) return; /* uncontended: no event */
  atomic_fetch_add(&tm->waiters, 1);
  et_block_begin(ET_REASON_MUTEX, tm);
  pthread_mutex_lock(&tm->m);
  et_block_end();
  atomic_fetch_sub(&tm->waiters, 1);
}

static void tm_unlock(traced_mutex *tm) {
  /* The wake goes first: once unlocked, the waiter may end its wait before
   * a wake recorded after the unlock. */
  if (atomic_load(&tm->waiters) > 0) et_wake(0, tm);
  pthread_mutex_unlock(&tm->m);
}

/* ---- the connection queue ---- */

#define QUEUE_CAP 64
static struct {
  traced_mutex lock;
  pthread_cond_t nonempty;
  int fds[QUEUE_CAP];
  int head, len;
  int closed;
} queue = {.lock = {PTHREAD_MUTEX_INITIALIZER, 0}, .nonempty = PTHREAD_COND_INITIALIZER};

static void queue_push(int fd) {
  tm_lock(&queue.lock);
  queue.fds[(queue.head + queue.len++) % QUEUE_CAP] = fd;
  et_counter("queue_depth", queue.len);
  et_wake(0, &queue.nonempty);
  pthread_cond_signal(&queue.nonempty);
  tm_unlock(&queue.lock);
}

static int queue_pop(void) {
  tm_lock(&queue.lock);
  while (queue.len == 0 && !queue.closed) {
    et_block_begin(ET_REASON_COND, &queue.nonempty);
    pthread_cond_wait(&queue.nonempty, &queue.lock.m);
    et_block_end();
  }
  int fd = -1;
  if (queue.len) {
    fd = queue.fds[queue.head];
    queue.head = (queue.head + 1) % QUEUE_CAP;
    queue.len--;
    et_counter("queue_depth", queue.len);
  }
  tm_unlock(&queue.lock);
  return fd;
}

/* ---- socket I/O, described to the tracer ---- */

static ssize_t traced_read(int fd, void *buf, size_t n) {
  et_syscall_begin(SYS_read, fd, ET_FDCLASS_SOCKET);
  ssize_t r = read(fd, buf, n);
  et_syscall_end(r < 0 ? -errno : r);
  return r;
}

static ssize_t traced_write(int fd, const void *buf, size_t n) {
  et_syscall_begin(SYS_write, fd, ET_FDCLASS_SOCKET);
  ssize_t r = write(fd, buf, n);
  et_syscall_end(r < 0 ? -errno : r);
  return r;
}

/* ---- the cache: a contended lock ---- */

#define KEYS 256
static traced_mutex cache_lock = {PTHREAD_MUTEX_INITIALIZER, 0};
static unsigned long cache_hits[KEYS];

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void spin_ns(uint64_t ns) {
  uint64_t end = now_ns() + ns;
  while (now_ns() < end) {
  }
}

static unsigned lookup(unsigned key) {
  tm_lock(&cache_lock);
  spin_ns(20000); /* work done while holding the lock */
  unsigned long v = ++cache_hits[key % KEYS];
  tm_unlock(&cache_lock);
  return (unsigned)v;
}

static void slow_disk_read(void) {
  struct timespec ts = {0, 2000000};
  et_block_begin(ET_REASON_FILE, NULL);
  nanosleep(&ts, NULL);
  et_block_end();
}

static void handle(int fd, const char *line) {
  uint64_t start = now_ns();
  uint64_t task = et_task_begin(0, "request");
  unsigned key = 0;
  et_region_begin(task, "parse");
  if (sscanf(line, "GET %u", &key) != 1) key = 0;
  et_region_end(task, "parse");

  et_region_begin(task, "lookup");
  unsigned v = lookup(key);
  if (key % 16 == 0) slow_disk_read(); /* one key in 16 misses the cache */
  et_region_end(task, "lookup");

  et_region_begin(task, "respond");
  char reply[64];
  int n = snprintf(reply, sizeof reply, "VALUE %u %u\n", key, v);
  traced_write(fd, reply, (size_t)n);
  et_region_end(task, "respond");

  uint64_t took = now_ns() - start;
  if (took > 1000000) {
    char msg[96];
    snprintf(msg, sizeof msg, "key %u took %.2f ms", key, (double)took / 1e6);
    et_log(task, "slow", msg);
  }
  et_task_end(task);
}

static void *worker(void *arg) {
  char name[16];
  snprintf(name, sizeof name, "worker-%d", (int)(intptr_t)arg);
  et_thread_name(name);
  int fd;
  while ((fd = queue_pop()) >= 0) {
    char buf[256];
    size_t have = 0;
    ssize_t r;
    while ((r = traced_read(fd, buf + have, sizeof buf - have - 1)) > 0) {
      have += (size_t)r;
      buf[have] = 0;
      char *nl;
      while ((nl = strchr(buf, '\n')) != NULL) {
        *nl = 0;
        handle(fd, buf);
        have -= (size_t)(nl + 1 - buf);
        memmove(buf, nl + 1, have + 1);
      }
      if (have == sizeof buf - 1) have = 0; /* a line too long: drop it */
    }
    close(fd);
  }
  return NULL;
}

/* ---- the load: clients over loopback ---- */

static struct sockaddr_in server_addr;
static int requests_per_client = 200;

static void *client(void *arg) {
  char name[16];
  snprintf(name, sizeof name, "client-%d", (int)(intptr_t)arg);
  et_thread_name(name);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0 || connect(fd, (struct sockaddr *)&server_addr, sizeof server_addr) != 0) {
    perror("reqserver: connect");
    exit(1);
  }
  unsigned seed = (unsigned)(uintptr_t)arg * 7919u + 1;
  char line[64], reply[128];
  for (int i = 0; i < requests_per_client; i++) {
    int n = snprintf(line, sizeof line, "GET %u\n", rand_r(&seed) % KEYS);
    if (traced_write(fd, line, (size_t)n) != n) break;
    if (traced_read(fd, reply, sizeof reply) <= 0) break;
  }
  close(fd);
  return NULL;
}

int main(int argc, char **argv) {
  const char *out = "reqserver.etrace";
  int clients = 8, workers = 4;
  int opt;
  while ((opt = getopt(argc, argv, "o:c:n:w:")) != -1) {
    switch (opt) {
      case 'o': out = optarg; break;
      case 'c': clients = atoi(optarg); break;
      case 'n': requests_per_client = atoi(optarg); break;
      case 'w': workers = atoi(optarg); break;
      default:
        fprintf(stderr, "usage: reqserver [-o TRACE] [-c CLIENTS] [-n REQUESTS] [-w WORKERS]\n");
        return 2;
    }
  }
  if (clients < 1 || clients > 256 || workers < 1 || workers > 64 || requests_per_client < 1) {
    fprintf(stderr, "reqserver: clients 1..256, workers 1..64, requests >= 1\n");
    return 2;
  }
  et_options opts;
  et_options_init(&opts);
  opts.cpu_hz = 250; /* CPU samples, for `exectrace pprof --type cpu` */
  int err = et_start_opts(out, &opts);
  if (err) {
    fprintf(stderr, "reqserver: cannot trace to %s: %s\n", out, et_strerror(err));
    return 1;
  }
  et_thread_name("listener");

  int lfd = socket(AF_INET, SOCK_STREAM, 0);
  server_addr.sin_family = AF_INET;
  server_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  server_addr.sin_port = 0;
  socklen_t alen = sizeof server_addr;
  if (lfd < 0 || bind(lfd, (struct sockaddr *)&server_addr, sizeof server_addr) != 0 ||
      listen(lfd, 128) != 0 || getsockname(lfd, (struct sockaddr *)&server_addr, &alen) != 0) {
    perror("reqserver: listen");
    return 1;
  }

  pthread_t wt[64], ct[256];
  for (int i = 0; i < workers; i++) pthread_create(&wt[i], NULL, worker, (void *)(intptr_t)i);
  for (int i = 0; i < clients; i++) pthread_create(&ct[i], NULL, client, (void *)(intptr_t)i);
  for (int i = 0; i < clients; i++) {
    et_syscall_begin(SYS_accept, lfd, ET_FDCLASS_SOCKET);
    int fd = accept(lfd, NULL, NULL);
    et_syscall_end(fd < 0 ? -errno : fd);
    if (fd >= 0) queue_push(fd);
  }
  for (int i = 0; i < clients; i++) pthread_join(ct[i], NULL);
  tm_lock(&queue.lock);
  queue.closed = 1;
  pthread_cond_broadcast(&queue.nonempty);
  tm_unlock(&queue.lock);
  for (int i = 0; i < workers; i++) pthread_join(wt[i], NULL);
  close(lfd);

  err = et_stop();
  if (err) {
    fprintf(stderr, "reqserver: writing %s failed: %s\n", out, et_strerror(err));
    return 1;
  }
  printf("reqserver: served %d requests from %d clients with %d workers; trace in %s\n",
         clients * requests_per_client, clients, workers, out);
  return 0;
}
