/* ctl.h — the subcommands of leadopsctl, each `int ctl_NAME(argc, argv,
 * cfg)` returning the process exit code (0 ok, 1 failure, 2 usage), and the
 * small helpers they share. argv[0] is the subcommand name. */
#ifndef LEADOPS_CTL_H
#define LEADOPS_CTL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "store.h"

int ctl_send(int argc, char **argv, const config_t *cfg);
int ctl_gen(int argc, char **argv, const config_t *cfg);
int ctl_rep(int argc, char **argv, const config_t *cfg);
int ctl_queue(int argc, char **argv, const config_t *cfg);
int ctl_lead(int argc, char **argv, const config_t *cfg);
int ctl_summary(int argc, char **argv, const config_t *cfg);
int ctl_import(int argc, char **argv, const config_t *cfg);
int ctl_keygen(int argc, char **argv, const config_t *cfg);
int ctl_train(int argc, char **argv, const config_t *cfg);
int ctl_evaluate(int argc, char **argv, const config_t *cfg);
int ctl_account(int argc, char **argv, const config_t *cfg);
int ctl_explain(int argc, char **argv, const config_t *cfg);
int ctl_report(int argc, char **argv, const config_t *cfg); /* dispatches to the ctl_report_* */
int ctl_simulate(int argc, char **argv, const config_t *cfg);
/* `leadopsctl report ops|reps`: argv[0] is "ops" / "reps" (a second one
 * right after it is skipped, so "report reps ..." works too); each takes
 * --help, --json and (reps) --period P or --from D --to D. */
int ctl_report_ops(int argc, char **argv, const config_t *cfg);
int ctl_report_reps(int argc, char **argv, const config_t *cfg);
/* `leadopsctl report plan|commissions` (cmd_report_plan.c), argv[0] as
 * above: plan takes --weeks N, --backtest K, --json; commissions --from D,
 * --to D, --summary, --json. */
int ctl_report_plan(int argc, char **argv, const config_t *cfg);
int ctl_report_commissions(int argc, char **argv, const config_t *cfg);

/* `leadopsctl lead merge`: merges lead OTHER into lead KEEP (aliases
 * resolved) by the rule scoring merges by, and prints what changed on OUT.
 * DRY_RUN checks and prints without writing. Returns 0 (also when OTHER is
 * already merged into KEEP), or -1 with *err: ERR_INPUT (bad ids),
 * ERR_NOTFOUND (not a lead), ERR_BUSY (a lead changed meanwhile: nothing
 * written, run again), ERR_IO (Redis). */
int ctl_lead_merge_run(store_t *store, const config_t *cfg, const char *keep, const char *other,
                       bool dry_run, FILE *out, err_t *err);

/* For tests: when set, called by ctl_lead_merge_run between reading the
 * leads and writing the merge. */
extern void (*ctl_lead_merge_before_write)(void *arg);
extern void *ctl_lead_merge_before_write_arg;

/* Packs a JSON lead or activity (kind from "kind", else "type" means an
 * activity) into an envelope from PRODUCER ("leadopsctl", or
 * ENVELOPE_PRODUCER_IMPORT) with the object's event_id or a new one.
 * Returns the bytes (caller frees) and the id in EVENT_ID, or NULL with
 * *err (ERR_INPUT) saying what is wrong. */
uint8_t *ctl_envelope_from_json(const json_t *obj, const char *producer, char event_id[64],
                                size_t *size, err_t *err);

/* Opens the store the config names; prints the error and returns NULL. */
store_t *ctl_store_open(const config_t *cfg);

/* A progress line on stderr, redrawn at most 5 times a second, only when
 * stderr is a terminal. */
typedef struct {
    bool tty;
    int64_t start_ms, last_draw_ms;
} ctl_progress_t;

void ctl_progress_start(ctl_progress_t *progress);
void ctl_progress_draw(ctl_progress_t *progress, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Clears the line; returns seconds since start. */
double ctl_progress_end(ctl_progress_t *progress);

/* Problems found in a file being read, printed on OUT as "FILE:LINE: reason"
 * (LINE 0: "FILE: reason"): the first CTL_PROBLEMS_SHOWN, then only counted,
 * so that a broken file does not flood the terminal. TTY: a progress line
 * may need clearing first. */
#define CTL_PROBLEMS_SHOWN 20
typedef struct {
    FILE *out;
    const char *path;
    bool tty;
    uint64_t shown, hidden;
} ctl_problems_t;

void ctl_problem(ctl_problems_t *problems, uint64_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* "FILE: N more problems not shown", when some were not. */
void ctl_problems_end(const ctl_problems_t *problems);

/* Prints a lead view (views_lead) for a terminal on OUT: its state, then its
 * score taken apart (fit rules, each kept activity decayed to now, what
 * earlier ones add, the model), rounded so the printed parts add up to the
 * printed totals. Prints no email or name. VIEW is borrowed. */
void ctl_lead_print(FILE *out, const json_t *view);

/* Prints JSON pretty on stdout. Takes ownership of VALUE. */
void ctl_print_json(json_t *value);

/* Writes TEXT (a domain, a URL or an email address) as an account domain
 * into OUT (SIZE bytes): lower case, without scheme, user, port, path, a
 * trailing dot or a leading "www.". Returns 0, or -1 with *err (ERR_INPUT:
 * "no domain" when TEXT holds none, else why it is not a domain). */
int ctl_domain_normalize(const char *text, char *out, size_t size, err_t *err);

/* What `leadopsctl account import` reads (strings borrowed). */
typedef struct {
    const char *path;          /* the CSV; "-": stdin */
    const char *domain_column; /* NULL: "domain" */
    const char *name_column;   /* NULL: "name" (optional column) */
    const char *owner_column;  /* NULL: "owner" (optional column) */
    bool dry_run;              /* check every row, write nothing */
} ctl_account_import_t;

/* Imports the accounts of a CSV into <PREFIX>:account:<domain> {name,
 * owner} and <PREFIX>:accounts, pipelined. Skipped rows and warnings (an
 * owner not in <PREFIX>:reps, a domain repeated) print as FILE:LINE: text
 * on REPORT, then a one-line summary. Returns 0 when every row was
 * imported, 1 when some were skipped, or -1 with *err: ERR_INPUT (the
 * header lacks the domain column or a named one), ERR_IO (the file cannot
 * be read; Redis failed: rows already written stay). */
int ctl_account_import_run(store_t *store, const char *prefix, const ctl_account_import_t *opts,
                           FILE *report, err_t *err);

/* Prints a lead's routing decisions (a views_lead_audit view, borrowed) for
 * a terminal on OUT: per decision its time, op, queue, rule and strategy,
 * each candidate rep with a check mark or the reason it was excluded, then
 * the rep chosen and why, or "waited: reason". With no decisions, says so
 * and that they are kept AUDIT_TTL_S seconds. */
void ctl_explain_print(FILE *out, const json_t *audit, int audit_ttl_s);

#endif
