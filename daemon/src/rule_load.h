/*
 * rule_load: the inside of loading a rule set, shared by rule_load.c
 * (one file: YAML -> rules and count drafts), rule_link.c (across files:
 * duplicate ids, counters, pairs) and rule_set.c (which drives both).
 * Nothing else includes this.
 */
#ifndef VIGIL_RULE_LOAD_H
#define VIGIL_RULE_LOAD_H

#include "rule_set_priv.h"
#include "yaml_doc.h"

/* One rule file being loaded: its text and parsed document. */
struct vigil_rule_file {
    struct vigil_yaml y;
    bool parsed; /* y holds a document */
    char *text;  /* owned; the source, for exact error columns */
    size_t len;
};

/* A count entry as written, before counters are linked across rules. */
struct vigil_count_draft {
    struct vigil_rule_file *file;
    struct vigil_rule *rule; /* the rule it is written in */
    struct fy_node *entry;
    struct fy_node *counter_node;
    char *counter;
    enum vigil_count_kind kind;
    struct vigil_ref ref; /* by, distinct, sum */
    /* pair: */
    struct fy_node *start_node, *end_node, *key_node;
    char *start, *end, *key;
    uint64_t within_ms;
};

struct vigil_loader {
    struct vigil_diags *diags;
    bool failed; /* a problem outside any document (I/O, memory) */
    struct vigil_rule_file *files;
    size_t n_files;
    struct vigil_rule **rules;
    struct vigil_rule_file **rule_files; /* per rule: where it is */
    struct fy_node **rule_ids;           /* per rule: its id node */
    size_t n_rules;
    size_t cap_rules;
    struct vigil_count_draft *counts;
    size_t n_counts;
    size_t cap_counts;
    struct vigil_counter **counters; /* built by vigil_loader_link() */
    size_t n_counters;
};

/* Reads path into lf->text; problems go to diags. */
int vigil_rule_file_read(struct vigil_rule_file *lf, const char *path,
                         struct vigil_diags *diags);

/* Parses lf->text and loads its rules into l (errors counted in lf->y). */
void vigil_rule_file_load(struct vigil_loader *l, struct vigil_rule_file *lf,
                          const char *name);

/* Appends r: l owns it from then on (on -1 the caller still does). */
int vigil_loader_add_rule(struct vigil_loader *l, struct vigil_rule *r,
                          struct vigil_rule_file *lf, struct fy_node *id);

/* Appends a copy of *d (taking ownership of what it points to). */
int vigil_loader_add_count(struct vigil_loader *l,
                           const struct vigil_count_draft *d);

void vigil_count_draft_fini(struct vigil_count_draft *d);

/*
 * Cross-rule checks and counters: duplicate ids, counter kinds, pair
 * rules and keys; fills every rule's counts. Problems go to the files'
 * documents. Returns 0 when there was none.
 */
int vigil_loader_link(struct vigil_loader *l);

/* Frees everything l still owns. */
void vigil_loader_fini(struct vigil_loader *l);

/* Rule ids, pack and counter names: [A-Za-z0-9_.-]{1,128}. */
bool vigil_rule_name_ok(const char *s, size_t len);

/*
 * Resolves the reference s[0..len) for rule r (see rule_set.h for the
 * grammar); errors reported on node with what as context.
 */
int vigil_rule_ref_resolve(struct vigil_yaml *y, struct fy_node *node,
                           const struct vigil_rule *r, const char *what,
                           const char *s, size_t len, struct vigil_ref *out);

/* Frees the name a resolved reference owns. */
void vigil_ref_fini(struct vigil_ref *ref);

#endif
