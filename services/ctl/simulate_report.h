/* simulate_report.h — the figures of one or two simulation runs (the JSON
 * of sim_stats_json) printed for a terminal: how the history's leads ended
 * up, a table per queue and one per rep, a sparkline of assignments per
 * month, and a one-line summary. With two runs, each figure reads "A | B".
 * Pure formatting: no I/O but the FILE given. */
#ifndef LEADOPS_SIMULATE_REPORT_H
#define LEADOPS_SIMULATE_REPORT_H

#include <jansson.h>
#include <stdio.h>

/* Prints the tables of run A and, when B is not NULL, run B beside it.
 * Both borrowed. */
void sim_report_print(FILE *out, const json_t *a, const json_t *b);

/* Prints the one-line summary of A (and B). */
void sim_report_summary(FILE *out, const json_t *a, const json_t *b);

#endif
