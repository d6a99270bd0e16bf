/* commands.h: the venseg program's subcommands (main.c dispatches to them). */
#ifndef VENSEG_APP_COMMANDS_H
#define VENSEG_APP_COMMANDS_H

/* Each subcommand: argv[0] is its name. */
int vs_cmd_eval(int argc, char **argv);
int vs_cmd_labelme(int argc, char **argv);
int vs_cmd_segment(int argc, char **argv);
int vs_cmd_analyze(int argc, char **argv);
int vs_cmd_phantom(int argc, char **argv);
int vs_cmd_bench(int argc, char **argv);
int vs_cmd_demo(int argc, char **argv);

#endif
