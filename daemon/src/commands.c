#include "commands.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

const struct vigil_command vigil_commands[] = {
    {"run", vigil_cmd_run, "run -c vigil.yaml", "the daemon (default)"},
    {"check", vigil_cmd_check, "check -c vigil.yaml [--print]",
     "validate config, rules and indicators"},
    {"test", vigil_cmd_test, "test [-c vigil.yaml] [FILES...]",
     "run the tests: blocks of rule and indicator files"},
    {"replay", vigil_cmd_replay, "replay -c vigil.yaml [--dry-run] FILE...",
     "feed events from files through the pipeline"},
    {"report", vigil_cmd_report,
     "report -c vigil.yaml --from T --to T [--format md|html|json]",
     "the ISMS monitoring report for a period"},
    {"status", vigil_cmd_status, "status -c vigil.yaml [--json]",
     "indicator states from Redis"},
    {"schedule", vigil_cmd_schedule,
     "schedule -c vigil.yaml [--format md|csv|json]",
     "the monitoring schedule"},
    {"ack", vigil_cmd_ack, "ack [-c vigil.yaml] [--by AUTHOR] ID",
     "acknowledge a breach"},
    {"silence", vigil_cmd_silence, "silence add|list|expire -c vigil.yaml",
     "manage silences"},
    {"demo", vigil_cmd_demo, "demo [--http ADDR] [--duration S]",
     "the whole product on embedded defaults"},
    {NULL, NULL, NULL, NULL},
};

static int take_option(const char *opt, const char *arg,
                       enum vigil_log_level *level,
                       enum vigil_log_format *format)
{
    if (strcmp(opt, "--log-level") == 0) {
        if (vigil_log_level_parse(arg, level) < 0) {
            fprintf(stderr, "vigild: --log-level must be debug, info, warn "
                            "or error\n");
            return -1;
        }
    } else if (vigil_log_format_parse(arg, format) < 0) {
        fprintf(stderr, "vigild: --log-format must be text or json\n");
        return -1;
    }
    return 0;
}

int vigil_common_options(int argc, char **argv)
{
    enum vigil_log_level level = VIGIL_LOG_INFO;
    enum vigil_log_format format = VIGIL_LOG_TEXT;
    const char *env = getenv("VIGIL_LOG_LEVEL");
    if (env && take_option("--log-level", env, &level, &format) < 0)
        return -1;
    env = getenv("VIGIL_LOG_FORMAT");
    if (env && take_option("--log-format", env, &level, &format) < 0)
        return -1;

    int out = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            while (i < argc)
                argv[out++] = argv[i++];
            break;
        }
        const char *names[] = {"--log-level", "--log-format"};
        bool taken = false;
        for (int k = 0; k < 2 && !taken; k++) {
            size_t n = strlen(names[k]);
            if (strncmp(a, names[k], n) != 0)
                continue;
            const char *val = NULL;
            if (a[n] == '=')
                val = a + n + 1;
            else if (a[n] == '\0' && i + 1 < argc)
                val = argv[++i];
            else if (a[n] != '\0')
                continue;
            if (!val) {
                fprintf(stderr, "vigild: %s needs a value\n", names[k]);
                return -1;
            }
            if (take_option(names[k], val, &level, &format) < 0)
                return -1;
            taken = true;
        }
        if (!taken)
            argv[out++] = argv[i];
    }
    argv[out] = NULL;
    vigil_log_setup(level, format);
    return out;
}
