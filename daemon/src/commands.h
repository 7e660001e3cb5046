/*
 * commands: one entry point per vigild subcommand (DESIGN.md section 2).
 * Each takes the arguments after the subcommand name (argv[0] is the
 * subcommand), parses its own options, and returns the process exit code:
 * 0 success, 1 failure of what was asked (bad config, failing test), 2 a
 * usage error or something not available. Called on the main thread only.
 */
#ifndef VIGIL_COMMANDS_H
#define VIGIL_COMMANDS_H

typedef int (*vigil_command_fn)(int argc, char **argv);

struct vigil_command {
    const char *name;
    vigil_command_fn fn; /* NULL: not built yet */
    const char *usage;
    const char *summary;
};

/* Subcommands, one cmd_<name>.c each. */
int vigil_cmd_run(int argc, char **argv);     /* cmd_run.c */
int vigil_cmd_check(int argc, char **argv);   /* cmd_check.c */
int vigil_cmd_test(int argc, char **argv);    /* cmd_test.c */
int vigil_cmd_replay(int argc, char **argv);  /* cmd_replay.c */
int vigil_cmd_status(int argc, char **argv);  /* cmd_status.c */
int vigil_cmd_demo(int argc, char **argv);    /* cmd_demo.c */
int vigil_cmd_ack(int argc, char **argv);     /* cmd_ack.c */
int vigil_cmd_silence(int argc, char **argv); /* cmd_silence.c */

/* The ISMS records (docs/REPORTS.md). */
int vigil_cmd_report(int argc, char **argv);   /* cmd_report.c */
int vigil_cmd_schedule(int argc, char **argv); /* cmd_schedule.c */

/* The table of subcommands, ending with a NULL name. */
extern const struct vigil_command vigil_commands[];

/*
 * Applies the options every subcommand shares (--log-level, --log-format)
 * from the environment variables VIGIL_LOG_LEVEL and VIGIL_LOG_FORMAT and
 * strips them from argv in place. Returns the new argc, or -1 after
 * printing a usage error.
 */
int vigil_common_options(int argc, char **argv);

#endif
