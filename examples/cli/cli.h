/* cli.h: the venseg command-line program's subcommands and shared helpers. */
#ifndef VENSEG_CLI_H
#define VENSEG_CLI_H

#include <stdio.h>

/* Exit statuses of every subcommand. */
enum {
    VS_EXIT_OK = 0,
    VS_EXIT_ERROR = 1,   /* an error: bad input, unreadable model, nothing evaluated */
    VS_EXIT_USAGE = 2,   /* bad command line */
    VS_EXIT_SKIPPED = 3  /* --strict: some files were skipped */
};

/* Each subcommand: argv[0] is its name. */
int vs_cmd_eval(int argc, char **argv);
int vs_cmd_labelme(int argc, char **argv);

/* "%.15g", else "%.16g", else "%.17g": the shortest of them that reads back as v;
 * "nan", "inf", "-inf" for those. Python's evaluate.py formats alike. */
void vs_format_double(char *buf, size_t size, double v);

#endif
