/* The event catalogue: every event kind exectrace knows, defined once.
 *
 * Each kind has a stable wire number, a name (what `dump`, `stats` and the docs
 * call it), a one-line description and up to four fields.  A field is a pair
 * (TYPE, name) where TYPE is one of
 *
 *   U  unsigned integer              (uvarint)
 *   I  signed integer                (zigzag varint)
 *   T  thread id                     (uvarint; 0 = unknown)
 *   P  object address                (zigzag varint: the difference from the
 *                                    previous P field of the same stream)
 *   S  interned string id            (uvarint; 0 = none)
 *   K  stack id                      (uvarint; 0 = no stack)
 *   B  byte string                   (uvarint length, then the bytes)
 *   N  no field (padding of the list)
 *
 * The writer's encoders (tracer/), the reader's decoder table (events/), the
 * catalogue chunk written into every trace, and the event table in
 * docs/format.md are all expanded from ET_EVENT_KINDS; a unit test checks the
 * docs table against it.  Wire numbers never change meaning: a new kind gets a
 * new number, and readers skip kinds they do not know using the catalogue that
 * each trace carries.
 *
 * Region ends are written compactly.  Each stream of a thread has a "last
 * region" register, (task, name): (0, 0) at the start of every EVENTS chunk,
 * set by each region_begin and by region_last.  A region_end whose task and
 * name equal the register is written as region_end_last, without fields;
 * readers turn it back into region_end with the register's task and name.
 * region_last is not an event: the writer puts it at the start of an EVENTS
 * chunk that continues a buffer chunk (docs/format.md, EVENTS), so that every
 * chunk decodes on its own.
 *
 * X(NAME, name, NUM, FLAGS, DOC, T0, N0, T1, N1, T2, N2, T3, N3)
 * FLAGS: ET_KF_STACK if the kind carries a stack by default (the K field is
 * always present on the wire; it is 0 when stacks are off for that kind).
 */
#ifndef EXECTRACE_EVENTS_CATALOG_H
#define EXECTRACE_EVENTS_CATALOG_H

#include <stddef.h>
#include <stdint.h>

#define ET_KF_STACK 1u /* stack captured by default */

#define ET_EVENT_KINDS(X) ET_EVENT_KINDS_EVENTS(X) ET_EVENT_KINDS_WIRE(X)

/* The kinds of events, as tools see them. */
#define ET_EVENT_KINDS_EVENTS(X)                                                            \
  X(THREAD_START, thread_start, 1, 0, "a thread begins emitting; parent is its creator if known",         \
    T, parent, N, _1, N, _2, N, _3)                                                         \
  X(THREAD_NAME, thread_name, 2, 0, "the thread's name changes", S, name, N, _1, N, _2, N, _3)           \
  X(THREAD_EXIT, thread_exit, 3, 0, "the thread ends", N, _0, N, _1, N, _2, N, _3)                       \
  X(THREAD_CREATE, thread_create, 4, ET_KF_STACK, "this thread creates thread child", T, child, K, stack,  \
    N, _2, N, _3)                                                                           \
  X(BLOCK_BEGIN, block_begin, 5, ET_KF_STACK, "the thread blocks for reason on object", U, reason, P,    \
    object, K, stack, N, _3)                                                                \
  X(BLOCK_END, block_end, 6, 0, "the thread stops blocking", U, reason, N, _1, N, _2, N, _3)           \
  X(WAKE, wake, 7, ET_KF_STACK,                                                                   \
    "this thread makes target runnable (0: a waiter of object)", T, target, P, object, K,   \
    stack, N, _3)                                                                           \
  X(SYSCALL_BEGIN, syscall_begin, 8, ET_KF_STACK, "the thread enters system call nr on fd", U, nr, I, fd,  \
    U, fdclass, K, stack)                                                                   \
  X(SYSCALL_END, syscall_end, 9, 0, "the system call returns result", I, result, N, _1, N, _2, N, _3)   \
  X(GC_BEGIN, gc_begin, 10, 0, "a garbage collection begins", N, _0, N, _1, N, _2, N, _3)            \
  X(GC_END, gc_end, 11, 0, "the garbage collection ends", N, _0, N, _1, N, _2, N, _3)              \
  X(GC_PHASE_BEGIN, gc_phase_begin, 12, 0, "a collection phase begins", S, name, N, _1, N, _2, N, _3)      \
  X(GC_PHASE_END, gc_phase_end, 13, 0, "the collection phase ends", N, _0, N, _1, N, _2, N, _3)          \
  X(STW_BEGIN, stw_begin, 14, 0, "the world is stopped", S, reason, N, _1, N, _2, N, _3)              \
  X(STW_END, stw_end, 15, 0, "the world restarts", N, _0, N, _1, N, _2, N, _3)                      \
  X(HEAP_LIVE, heap_live, 16, 0, "live heap bytes", U, bytes, N, _1, N, _2, N, _3)                    \
  X(HEAP_GOAL, heap_goal, 17, 0, "heap goal bytes", U, bytes, N, _1, N, _2, N, _3)                    \
  X(COUNTER, counter, 18, 0, "a user counter takes value", S, name, I, value, N, _2, N, _3)         \
  X(CPU_SAMPLE, cpu_sample, 19, ET_KF_STACK, "a CPU sample of weight ns of thread CPU time", K, stack,  \
    U, weight, N, _2, N, _3)                                                                \
  X(TASK_BEGIN, task_begin, 20, ET_KF_STACK, "task id of type begins, child of parent", U, id, U,      \
    parent, S, type, K, stack)                                                              \
  X(TASK_END, task_end, 21, 0, "task id ends", U, id, N, _1, N, _2, N, _3)                            \
  X(REGION_BEGIN, region_begin, 22, 0, "region name of task begins on this thread", U, task, S, name, K, \
    stack, N, _3)                                                                           \
  X(REGION_END, region_end, 23, 0, "region name of task ends on this thread", U, task, S, name, N, _2, \
    N, _3)                                                                                  \
  X(LOG, log, 24, ET_KF_STACK, "a log message of category for task", U, task, S, category, B,   \
    message, K, stack)                                                                      \
  X(DROP, drop, 25, 0, "count events of this thread were lost, for reason", U, count, U, reason, \
    N, _2, N, _3)

/* Kinds that exist only on the wire: readers turn them into the kinds above
 * (or into state), so tools and the LTTng provider never see them. */
#define ET_EVENT_KINDS_WIRE(X)                                                              \
  X(REGION_END_LAST, region_end_last, 26, 0,                                                \
    "the region of the stream's last region_begin ends; read as region_end", N, _0, N, _1,  \
    N, _2, N, _3)                                                                           \
  X(REGION_LAST, region_last, 27, 0,                                                        \
    "sets the stream's last region at the start of a chunk; not an event", U, task, S, name, \
    N, _2, N, _3)

/* Wire numbers of the kinds, as an enum ET_EV_<NAME>. */
enum et_event_kind_num {
#define ET_KIND_ENUM(NAME, lname, NUM, ...) ET_EV_##NAME = NUM,
  ET_EVENT_KINDS(ET_KIND_ENUM)
#undef ET_KIND_ENUM
  ET_EV_MAX_PLUS_ONE
};

#define ET_EV_LIMIT 256 /* kind numbers are one byte on the wire */
#define ET_MAX_FIELDS 4

/* Field types as their letters, so catalogues read naturally in a hex dump. */
enum et_field_type {
  ET_FT_N = 0,
  ET_FT_U = 'U',
  ET_FT_I = 'I',
  ET_FT_T = 'T',
  ET_FT_P = 'P',
  ET_FT_S = 'S',
  ET_FT_K = 'K',
  ET_FT_B = 'B',
};

/* The values of the enumerated fields, each defined once as X(NAME, label,
 * VALUE): the enums below, the names `dump` prints (catalog.c), the CTF
 * enumerations of the export and the LTTng provider are expanded from them. */

/* Reasons a thread blocks (BLOCK_BEGIN.reason, BLOCK_END.reason). */
#define ET_BLOCK_REASONS(X)                                                                 \
  X(OTHER, other, 0)                                                                        \
  X(MUTEX, mutex, 1)                                                                        \
  X(RWLOCK, rwlock, 2)                                                                      \
  X(COND, cond, 3)                                                                          \
  X(SEM, sem, 4)                                                                            \
  X(JOIN, join, 5)                                                                          \
  X(BARRIER, barrier, 6)                                                                    \
  X(SLEEP, sleep, 7)                                                                        \
  X(NET, net, 8)                                                                            \
  X(FILE, file, 9)                                                                          \
  X(POLL, poll, 10) /* select/poll/epoll */                                                 \
  X(PIPE, pipe, 11)                                                                         \
  X(USER, user, 12)                                                                         \
  X(GC, gc, 13)

/* Kinds of file descriptor (SYSCALL_BEGIN.fdclass). */
#define ET_FD_CLASSES(X)                                                                    \
  X(NONE, none, 0)                                                                          \
  X(SOCKET, socket, 1)                                                                      \
  X(FILE, file, 2)                                                                          \
  X(PIPE, pipe, 3)                                                                          \
  X(OTHER, other, 4)

/* Why events were lost (DROP.reason); 0 is "unknown". */
#define ET_DROP_REASONS(X)                                                                  \
  X(BUFFER_FULL, buffer_full, 1)         /* no free buffer chunk: the writer fell behind */ \
  X(NESTED, nested_signal, 2)            /* a signal interrupted a signal-context write */  \
  X(STRING_TABLE, string_table_full, 3)  /* string table full: string recorded as id 0 */   \
  X(STACK_TABLE, stack_table_full, 4)    /* stack table full: stack recorded as id 0 */     \
  X(TRUNCATED_MSG, message_truncated, 5) /* a log message longer than the limit was cut */

#define ET_ENUM_BLOCK(NAME, label, V) ET_BLOCK_##NAME = V,
enum et_block_reason { ET_BLOCK_REASONS(ET_ENUM_BLOCK) ET_BLOCK_REASON_COUNT };
#undef ET_ENUM_BLOCK
#define ET_ENUM_FD(NAME, label, V) ET_FD_##NAME = V,
enum et_fd_class { ET_FD_CLASSES(ET_ENUM_FD) ET_FD_CLASS_COUNT };
#undef ET_ENUM_FD
#define ET_ENUM_DROP(NAME, label, V) ET_DROP_##NAME = V,
enum et_drop_reason { ET_DROP_REASONS(ET_ENUM_DROP) ET_DROP_REASON_COUNT };
#undef ET_ENUM_DROP

/* One row of the catalogue, for readers and tools. */
typedef struct et_kind_desc {
  uint8_t num;
  uint8_t flags;
  uint8_t nfields;
  const char *name; /* lower-case, e.g. "region_begin" */
  const char *doc;
  uint8_t ftype[ET_MAX_FIELDS];
  const char *fname[ET_MAX_FIELDS];
} et_kind_desc;

/* The built-in catalogue, indexed by wire number; rows with name NULL are unused. */
extern const et_kind_desc et__kinds[ET_EV_LIMIT];

/* Names for enums, for dump output and docs ("mutex", "socket", ...). */
const char *et__block_reason_name(unsigned reason);
const char *et__fd_class_name(unsigned cls);
const char *et__drop_reason_name(unsigned reason);

#endif
