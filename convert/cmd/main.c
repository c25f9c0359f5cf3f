/* exectrace: the command that fronts every part of the project.
 *
 * One file per subcommand (cmd_*.c), as in uftrace; this file only
 * dispatches and prints the top-level help.  Exit status: 0 on success,
 * 1 when the work failed (a missing or unusable trace), 2 on a usage error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "exectrace/version.h"

int et__cmd_record(int argc, char **argv); /* cmd_record.c */

#ifdef ET_HAVE_VIEWER
int et__cmd_view(int argc, char **argv); /* viewer/cmd_view.c */
#else
/* Built without SDL2: say how to get the viewer. */
static int et__cmd_view(int argc, char **argv) {
  (void)argc;
  (void)argv;
  fprintf(stderr, "exectrace view: this exectrace was built without the viewer "
                  "(apt-get install libsdl2-dev libsdl2-ttf-dev, then rebuild)\n");
  return 1;
}
#endif

typedef struct command {
  const char *name;
  int (*run)(int argc, char **argv);
  const char *summary;
} command;

static const command commands[] = {
    {"record", et__cmd_record, "run a program with the tracer preloaded and record its trace"},
    {"dump", et__cmd_dump, "print every event of a trace, one per line"},
    {"stats", et__cmd_stats, "summarise a trace: events, threads, kinds, losses"},
    {"pprof", et__cmd_pprof, "write a pprof profile (cpu, sync, net, syscall, sched, block, mutex)"},
    {"export", et__cmd_export, "export a trace as CTF, Chrome trace JSON or folded stacks"},
    {"view", et__cmd_view, "open the timeline viewer (or save a screenshot of it)"},
};

static void usage(FILE *f) {
  fprintf(f, "usage: exectrace COMMAND [OPTIONS] ...\n\ncommands:\n");
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
  fprintf(f, "\n'exectrace COMMAND --help' describes a command.\n");
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
    usage(stdout);
    return 0;
  }
  if (strcmp(argv[1], "--version") == 0) {
    printf("exectrace %s\n", ET_VERSION_STRING);
    return 0;
  }
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    if (strcmp(argv[1], commands[i].name) == 0) return commands[i].run(argc - 1, argv + 1);
  fprintf(stderr, "exectrace: unknown command '%s' (try 'exectrace --help')\n", argv[1]);
  return 2;
}
