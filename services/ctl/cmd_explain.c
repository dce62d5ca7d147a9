/* leadopsctl explain: why a lead went where it went. Prints the routing
 * decisions routing.lua recorded in the lead's audit list (the reporting
 * view views_lead_audit, also GET /v1/leads/{id}/audit): each decision's
 * time, operation and queue, every candidate rep with the reason it was
 * passed over, and the rep chosen and why, or why the lead waited. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "views.h"

/* The string NAME of OBJ, or FALLBACK (also for an empty string). */
static const char *s_str(const json_t *obj, const char *name, const char *fallback)
{
    const char *value = json_string_value(json_object_get(obj, name));
    return value && *value ? value : fallback;
}

/* "2026-11-18 10:00:00" (UTC) from the decision's "at" (Unix ms). */
static void s_when(const json_t *decision, char out[32])
{
    json_t *at = json_object_get(decision, "at");
    if (!json_is_number(at) || json_number_value(at) <= 0) {
        snprintf(out, 32, "%-19s", "(no time)");
        return;
    }
    time_t seconds = (time_t)(json_number_value(at) / 1000);
    struct tm tm;
    gmtime_r(&seconds, &tm);
    strftime(out, 32, "%Y-%m-%d %H:%M:%S", &tm);
}

/* The line under a decision's header: what started it. */
static void s_print_cause(FILE *out, const json_t *d, const char *op)
{
    const char *from_rep = s_str(d, "from_rep", NULL);
    const char *reason = s_str(d, "reason", NULL);
    if (strcmp(op, "accept") == 0) {
        fprintf(out, "    accepted by %s\n", s_str(d, "rep", "?"));
    } else if (strcmp(op, "close") == 0) {
        fprintf(out, "    closed by %s, outcome %s\n", s_str(d, "rep", "?"),
                s_str(d, "outcome", "?"));
    } else if (strcmp(op, "reassign") == 0) {
        fprintf(out, "    from %s\n", from_rep ? from_rep : "the queue (it was waiting)");
    } else if (strcmp(op, "overflow") == 0) {
        fprintf(out, "    from queue %s: %s\n", s_str(d, "from_queue", "?"),
                reason ? reason : "waited too long");
    } else if (strcmp(op, "drain") == 0) {
        fprintf(out, "    a rep of the queue became able to take a waiting lead\n");
    } else if (from_rep || reason) {
        /* sla, rejected: taken back from a rep. */
        fprintf(out, "    taken from %s: %s", from_rep ? from_rep : "?", reason ? reason : "?");
        json_t *attempts = json_object_get(d, "attempts");
        if (json_is_integer(attempts))
            fprintf(out, " (after %lld tries)", (long long)json_integer_value(attempts));
        fputc('\n', out);
    }
    const char *escalated = s_str(d, "escalated_to", NULL);
    if (escalated)
        fprintf(out, "    escalated to queue %s\n", escalated);
}

/* One candidate a line, in the order routing tried them (the account
 * owner first; round robin stops at the first eligible rep): ✓ eligible,
 * or ✗ and why it was passed over. */
static void s_print_candidates(FILE *out, const json_t *candidates)
{
    size_t i;
    json_t *c;
    json_array_foreach(candidates, i, c)
    {
        const char *rep = s_str(c, "rep", "?");
        const char *excluded = json_string_value(json_object_get(c, "excluded"));
        const char *owner = json_is_true(json_object_get(c, "owner")) ? " (account owner)" : "";
        if (excluded && *excluded)
            fprintf(out, "      \u2717 %-20s %s%s\n", rep, excluded, owner);
        else
            fprintf(out, "      \u2713 %s%s\n", rep, owner);
    }
}

static void s_print_decision(FILE *out, const json_t *d)
{
    char when[32];
    s_when(d, when);
    const char *unreadable = s_str(d, "unreadable", NULL);
    if (unreadable || json_object_get(d, "unreadable")) {
        fprintf(out, "%s  (entry %s is not a routing record: %.200s)\n", when,
                s_str(d, "entry", "?"), unreadable ? unreadable : "empty");
        return;
    }
    const char *op = s_str(d, "op", "?");
    const char *queue = s_str(d, "queue", NULL), *rule = s_str(d, "rule", NULL);
    const char *strategy = s_str(d, "strategy", NULL);
    fprintf(out, queue || rule || strategy ? "%s  %-9s" : "%s  %s", when, op);
    if (queue)
        fprintf(out, " queue %s", queue);
    if (rule)
        fprintf(out, "%s rule \"%s\"", queue ? "," : "", rule);
    if (strategy)
        fprintf(out, "%s %s", queue || rule ? "," : "", strategy);
    fputc('\n', out);
    s_print_cause(out, d, op);
    json_t *candidates = json_object_get(d, "candidates");
    if (json_is_array(candidates)) {
        if (json_array_size(candidates))
            fprintf(out, "    candidates, in the order tried:\n");
        else
            fprintf(out, "    candidates: none (the queue has no reps)\n");
        s_print_candidates(out, candidates);
    }
    const char *chosen = s_str(d, "chosen", NULL);
    const char *why = s_str(d, "why", NULL);
    if (chosen)
        fprintf(out, "    \u2192 %s: %s\n", chosen, why ? why : "chosen");
    else if (strcmp(s_str(d, "outcome", ""), "waiting") == 0)
        fprintf(out, "    \u2192 waited: %s\n", why ? why : "no eligible rep");
}

void ctl_explain_print(FILE *out, const json_t *audit, int audit_ttl_s)
{
    const char *lead_id = s_str(audit, "lead_id", "?");
    const char *merged_from = s_str(audit, "merged_from", NULL);
    json_t *decisions = json_object_get(audit, "decisions");
    size_t count = json_array_size(decisions);
    if (merged_from)
        fprintf(out, "%s was merged into lead %s: its decisions follow\n", merged_from, lead_id);
    if (count == 0) {
        fprintf(out,
                "lead %s has no routing decisions on record: it was never routed (`leadopsctl "
                "lead %s` shows its status), or its last decision is older than "
                "routing.audit_ttl_s (%d s, %.1f days) and they expired\n",
                lead_id, lead_id, audit_ttl_s, audit_ttl_s / 86400.0);
        return;
    }
    fprintf(out, "lead %s: %zu routing decision%s, oldest first (times UTC)\n", lead_id, count,
            count == 1 ? "" : "s");
    size_t i;
    json_t *d;
    json_array_foreach(decisions, i, d)
    {
        fputc('\n', out);
        s_print_decision(out, d);
    }
}

static int s_usage(FILE *out)
{
    fprintf(out, "usage: leadopsctl explain LEAD_ID [--json]\n"
                 "Prints a lead's routing decisions, oldest first: when, what (route, drain,\n"
                 "pull, sla, rejected, overflow, reassign, accept, close), the queue, rule and\n"
                 "strategy, each candidate rep with \u2713 or why it was passed over (offline,\n"
                 "away, out_of_hours, out_of_office, at_capacity, daily_cap, weekly_cap,\n"
                 "missing_skill X, already_tried, not_in_team T), then the rep chosen and\n"
                 "why, or why the lead waited. A merged lead id shows the lead it merged\n"
                 "into. Decisions are kept routing.audit_ttl_s after the last one. --json\n"
                 "prints them as GET /v1/leads/{id}/audit serves them.\n");
    return out == stdout ? 0 : 2;
}

int ctl_explain(int argc, char **argv, const config_t *cfg)
{
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))
        return s_usage(stdout);
    bool json = argc == 3 && strcmp(argv[2], "--json") == 0;
    if ((argc != 2 && !json) || argv[1][0] == '-')
        return s_usage(stderr);
    store_t *store = ctl_store_open(cfg);
    if (!store)
        return 1;
    err_t err = {0};
    json_t *audit = views_lead_audit(store, cfg->redis_prefix, argv[1], &err);
    store_destroy(&store);
    if (!audit) {
        fprintf(stderr, "leadopsctl explain: %s%s\n", err.msg,
                err.code == ERR_NOTFOUND ? " (neither a lead nor an alias of one, and no routing "
                                           "decisions on record); check the id"
                                         : "");
        return 1;
    }
    if (json) {
        ctl_print_json(audit);
        return 0;
    }
    ctl_explain_print(stdout, audit, cfg->routing_audit_ttl_s);
    json_decref(audit);
    return 0;
}
