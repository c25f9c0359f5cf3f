/* Shared pieces of the exectrace command: subcommand entry points, loading a
 * trace with one clear error line, and output helpers. */
#ifndef EXECTRACE_CLI_H
#define EXECTRACE_CLI_H

#include <stdio.h>

#include "exectrace/reader.h"

/* Each subcommand: argv[0] is the subcommand's name; returns the exit status. */
int et__cmd_dump(int argc, char **argv);
int et__cmd_stats(int argc, char **argv);
int et__cmd_pprof(int argc, char **argv);  /* convert/pprof/cmd_pprof.c */
int et__cmd_export(int argc, char **argv); /* convert/export/cmd_export.c */

/* Loads path, or prints "exectrace: ..." and returns NULL. */
et_trace *et__cli_load(const char *path);

/* Prints why loading path failed with err (et_trace_open's error), on one line. */
void et__cli_load_error(const char *path, int err);

/* Prints the trace's warnings to stderr, prefixed. */
void et__cli_warnings(const et_trace *t);

/* Prints "exectrace <cmd>: <msg> '<arg>' (try 'exectrace <cmd> --help')"; returns 2. */
int et__cli_usage_error(const char *cmd, const char *msg, const char *arg);

/* Writes s as a JSON string literal (with quotes). */
void et__json_str(FILE *f, const char *s, size_t n);

/* Writes s quoted for a dump line, escaping quotes, backslashes and controls. */
void et__quote(FILE *f, const char *s, size_t n);

#endif
