/*
 * report_config: the `reports:` section of vigil.yaml (docs/CONFIG.md,
 * docs/REPORTS.md), parsed into struct vigil_config_reports (config.h).
 * Kept out of config.c, which calls these three functions; every error
 * is "file:line:col: message" like the rest of the config. Main thread.
 */
#ifndef VIGIL_REPORT_CONFIG_H
#define VIGIL_REPORT_CONFIG_H

#include <stdio.h>

#include "config.h"
#include "yaml_doc.h"

/*
 * Fills cfg->reports from node (NULL: the section is absent, defaults
 * apply). Needs cfg->notifiers and cfg->base_dir already loaded. Problems
 * go to y's diags and count in y->errors.
 */
void vigil_config_load_reports(struct vigil_yaml *y, struct vigil_config *cfg,
                               struct fy_node *node);

/* Frees what vigil_config_load_reports allocated. */
void vigil_config_reports_fini(struct vigil_config_reports *r);

/* Prints the effective section (nothing when it was absent). */
void vigil_config_reports_print(const struct vigil_config_reports *r, FILE *o);

/*
 * config.c's string getter for y's loader: ${ENV} expanded, "@file"
 * read. *out is a heap string. 0 or -1 (reported).
 */
int vigil_config_get_str(struct vigil_yaml *y, struct fy_node *node,
                         const char *what, char **out);

#endif
