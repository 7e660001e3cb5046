/*
 * vigild: parses argv and hands over to the subcommand. Everything else
 * lives in vigil_core.
 */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "version.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: vigild [COMMAND] [OPTIONS]\n\ncommands:\n");
    for (const struct vigil_command *c = vigil_commands; c->name; c++)
        fprintf(out, "  %-44s %s%s\n", c->usage, c->summary,
                c->fn ? "" : " (not built yet)");
    fprintf(out, "\ncommon options: --log-level debug|info|warn|error, "
                 "--log-format text|json\n"
                 "'vigild' with no command is 'vigild run'.\n");
}

int main(int argc, char **argv)
{
    const char *name = "run";
    int skip = 1;
    if (argc > 1 && argv[1][0] != '-') {
        name = argv[1];
    } else if (argc > 1 && (strcmp(argv[1], "--version") == 0 ||
                            strcmp(argv[1], "-V") == 0)) {
        printf("vigild %s\n", VIGIL_VERSION);
        return 0;
    } else if (argc > 1 &&
               (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return 0;
    } else {
        skip = 0; /* options of the default command start at argv[1] */
    }
    if (strcmp(name, "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(name, "version") == 0) {
        printf("vigild %s\n", VIGIL_VERSION);
        return 0;
    }
    for (const struct vigil_command *c = vigil_commands; c->name; c++) {
        if (strcmp(c->name, name) != 0)
            continue;
        if (!c->fn) {
            fprintf(stderr, "vigild: '%s' is not built yet in vigild %s\n",
                    name, VIGIL_VERSION);
            return 2;
        }
        int sub_argc = argc - skip;
        char **sub_argv = argv + skip;
        if (skip == 0)
            sub_argv[0] = (char *)c->name;
        sub_argc = vigil_common_options(sub_argc, sub_argv);
        if (sub_argc < 0)
            return 2;
        return c->fn(sub_argc, sub_argv);
    }
    fprintf(stderr, "vigild: unknown command '%s'\n", name);
    usage(stderr);
    return 2;
}
