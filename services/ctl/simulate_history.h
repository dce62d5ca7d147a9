/* simulate_history.h — the history `leadopsctl simulate` replays: a CRM
 * pipeline export (the Maven CRM sales_pipeline.csv: opportunity_id,
 * sales_agent, product, account, deal_stage, engage_date, close_date,
 * close_value), with the optional accounts file (account -> sector,
 * office_location) and sales teams file (sales_agent -> manager,
 * regional_office) that enrich each lead.
 *
 * Each opportunity is one lead. It arrives on its engage_date at a time of
 * day drawn from business hours (08:00-18:00 in SIM_INTAKE_TZ) by a hash of
 * the seed and its line, so one seed gives one timeline whatever the file
 * order, and closes on its close_date at another such time (an opportunity
 * still open in the history closes OPEN_DAYS after it arrived). A row without
 * an engage_date never reached sales: it is skipped and counted.
 *
 * The reader is strict: a ragged row, a bad date, a close before the
 * engagement or a missing column stops the load with "FILE:LINE: reason";
 * a simulation of part of a broken file would report wrong figures.
 *
 * Times here are history times (Unix ms, UTC). A sim_history_t owns its
 * leads; a lead's strings live as long as the history. */
#ifndef LEADOPS_SIMULATE_HISTORY_H
#define LEADOPS_SIMULATE_HISTORY_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* Leads arrive and close in the business hours of this zone. */
#define SIM_INTAKE_TZ "America/Chicago"

typedef struct {
    const char *id;       /* "maven-<opportunity_id>" */
    const char *outcome;  /* deal_stage, lower case: won, lost, engaging */
    const char *company;  /* the account; "" when the row names none */
    const char *industry; /* the account's sector (accounts file); "" unknown */
    const char *country;  /* the account's office_location (accounts file); "" unknown */
    const char *product;  /* as written */
    const char *series;   /* the product's series: "GTX Plus Pro" -> GTX, "MG Special" -> MG */
    const char *agent;    /* the history's sales agent, slugged: "Moses Frase" -> moses-frase */
    const char *office;   /* the agent's regional_office (teams file); "" unknown */
    const char *manager;  /* the agent's manager (teams file); "" unknown */
    int64_t arrive_ms;    /* engage_date at a seeded time of day */
    int64_t close_ms;     /* close_date at a seeded time of day, or arrive + open days */
    uint64_t line;        /* of the row in the pipeline file */
} sim_lead_t;

typedef struct {
    const char *pipeline_path; /* required */
    const char *accounts_path; /* NULL: no sector or country */
    const char *teams_path;    /* NULL: no office or manager */
    uint64_t seed;
    int open_days; /* an opportunity without a close_date closes this long after arriving */
} sim_history_options_t;

typedef struct sim_history sim_history_t;

/* Reads the files OPTS names (borrowed). Returns the history, its leads in
 * arrival order, or NULL with *err: ERR_IO (a file cannot be read),
 * ERR_INPUT "FILE:LINE: reason" for the first bad row (and how many more
 * there are), ERR_NOMEM. */
sim_history_t *sim_history_load(const sim_history_options_t *opts, err_t *err);
void sim_history_destroy(sim_history_t **self_p); /* NULL-safe, idempotent */

/* Leads (rows with an engage_date), in arrival order. */
size_t sim_history_count(const sim_history_t *self);
const sim_lead_t *sim_history_lead(const sim_history_t *self, size_t index);

/* Data rows of the pipeline file, and those skipped for want of an engage_date. */
uint64_t sim_history_rows(const sim_history_t *self);
uint64_t sim_history_skipped(const sim_history_t *self);

/* Opportunities the history gave to AGENT (a slugged name), 0 when none. */
uint64_t sim_history_agent_deals(const sim_history_t *self, const char *agent);

/* Writes the slug of NAME into OUT ("Moses Frase" -> "moses-frase"), as the
 * import mapping's slug does: ASCII letters and digits lower-cased, any run
 * of other ASCII characters one '-', non-ASCII bytes dropped, no '-' at
 * either end. Returns OUT. */
const char *sim_slug(const char *name, char *out, size_t size);

/* A well-mixed 64-bit hash of SEED and two values: the simulation's only
 * source of chance, so that a seed fixes every draw whatever the order in
 * which they are made. */
uint64_t sim_hash(uint64_t seed, uint64_t a, uint64_t b);

#endif
