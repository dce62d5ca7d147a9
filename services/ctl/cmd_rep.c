/* leadopsctl rep: rep commands to routing over ZeroMQ (REQ/ROUTER). Each
 * verb is one RepCommand; routing answers with an Ack whose reason is
 * printed, with the assignments the command caused (freed capacity pulls
 * waiting leads at once, a rejected lead goes to another rep). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "auth.h"
#include "ctl.h"
#include "envelope.h"
#include "zutil.h"

#define REP_TIMEOUT_MS 5000
#define LIMIT_MAX      100000 /* capacity and caps, as routing checks them */
#define OPTIONS_MAX    2

/* One verb of `leadopsctl rep`: its arguments and what it does. */
typedef struct {
    const char *name;
    int positionals;                  /* REP_ID, LEAD_ID, N ... */
    const char *options[OPTIONS_MAX]; /* each "--name" takes a value */
    const char *args;                 /* for the usage line */
    const char *help;                 /* for `rep VERB --help` */
} s_verb_t;

static const s_verb_t s_verbs[] = {
    {"list", 0, {NULL}, "", "Lists the reps: status, open leads, capacity, queues."},
    {"online",
     1,
     {NULL},
     "REP_ID",
     "The rep takes new leads; waiting leads it may take come at once."},
    {"away", 1, {NULL}, "REP_ID", "The rep keeps its leads and gets no new ones until online."},
    {"offline", 1, {NULL}, "REP_ID", "The rep gets no new leads (it keeps those it holds)."},
    {"capacity", 2, {NULL}, "REP_ID N", "At most N open leads at a time (0..100000)."},
    {"caps",
     1,
     {"--daily", "--weekly"},
     "REP_ID --daily N --weekly N",
     "At most N new leads a day and a week, in the rep's time zone (0: no cap)."},
    {"accept",
     2,
     {NULL},
     "REP_ID LEAD_ID",
     "The rep takes the lead on: its SLA clock stops, it is not re-routed."},
    {"reject",
     2,
     {"--reason"},
     "REP_ID LEAD_ID [--reason TEXT]",
     "The lead goes to another rep of its queue, never back to this one (escalated\n"
     "after the queue's max_attempts); TEXT is kept in its audit."},
    {"reassign",
     1,
     {"--to", "--by"},
     "LEAD_ID --to REP_ID [--by NAME]",
     "Moves an assigned or waiting lead to REP_ID, within the rep's capacity and\n"
     "status (hours and caps are overridden); NAME (default $USER) is kept in its audit."},
    {"close",
     2,
     {"--outcome"},
     "REP_ID LEAD_ID [--outcome won|lost|disqualified]",
     "Closes a lead the rep holds; the freed capacity pulls a waiting lead at once."},
};
#define VERB_COUNT (sizeof s_verbs / sizeof s_verbs[0])

static int s_usage(FILE *out)
{
    for (size_t i = 0; i < VERB_COUNT; i++)
        fprintf(out, "%s leadopsctl rep %s%s%s\n", i ? "      " : "usage:", s_verbs[i].name,
                *s_verbs[i].args ? " " : "", s_verbs[i].args);
    fprintf(out, "Sends a rep command to routing (endpoints.commands) and prints its answer and\n"
                 "the leads it assigned. `leadopsctl rep VERB --help` says what VERB does.\n"
                 "Exit status: 0 done, 1 refused or routing unreachable (the reason is printed),\n"
                 "2 usage.\n");
    return out == stdout ? 0 : 2;
}

static int s_verb_usage(FILE *out, const s_verb_t *verb)
{
    fprintf(out, "usage: leadopsctl rep %s%s%s\n%s\n", verb->name, *verb->args ? " " : "",
            verb->args, verb->help);
    return out == stdout ? 0 : 2;
}

/* Sends CMD and returns the Ack (caller frees), or NULL after printing why. */
static Leadops__Ack *s_request(const config_t *cfg, const Leadops__RepCommand *cmd)
{
    void *ctx = zmq_ctx_new();
    err_t err = {0};
    zutil_security_t security;
    void *sock =
        auth_security_from_config(cfg, &security, &err) == 0
            ? zutil_socket_secure(ctx, ZMQ_REQ, cfg->ep_commands, false, 10, &security, &err)
            : NULL;
    Leadops__Ack *ack = NULL;
    if (!sock) {
        fprintf(stderr, "leadopsctl rep: %s\n", err.msg);
        zmq_ctx_term(ctx);
        return NULL;
    }
    size_t len;
    uint8_t *bytes = envelope_pack(LEADOPS__EVENT_TYPE__EVENT_REP_COMMAND, NULL, "leadopsctl", 0, 0,
                                   &cmd->base, &len, &err);
    zmq_send(sock, bytes, len, 0);
    free(bytes);
    zmq_pollitem_t item = {.socket = sock, .events = ZMQ_POLLIN};
    if (zmq_poll(&item, 1, REP_TIMEOUT_MS) == 1) {
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, sock, 0) >= 0) {
            Leadops__Envelope *env = envelope_decode(zmq_msg_data(&msg), zmq_msg_size(&msg), &err);
            if (env) {
                ack = envelope_ack(env, &err);
                leadops__envelope__free_unpacked(env, NULL);
            }
        }
        zmq_msg_close(&msg);
        if (!ack)
            fprintf(stderr, "leadopsctl rep: bad answer from routing: %s\n", err.msg);
    } else {
        fprintf(stderr,
                "leadopsctl rep: no answer from routing on %s within %d s; is "
                "leadops-routing running?\n",
                cfg->ep_commands, REP_TIMEOUT_MS / 1000);
    }
    zutil_close(&sock);
    zmq_ctx_term(ctx);
    return ack;
}

static void s_print_reps(const Leadops__Ack *ack)
{
    printf("%-16s %-22s %-8s %8s %8s %10s  %s\n", "REP", "NAME", "STATUS", "OPEN", "CAPACITY",
           "ASSIGNED", "QUEUES");
    for (size_t i = 0; i < ack->n_reps; i++) {
        const Leadops__RepState *r = ack->reps[i];
        char queues[256] = "";
        size_t used = 0;
        for (size_t q = 0; q < r->n_queues && used < sizeof queues; q++) {
            int n =
                snprintf(queues + used, sizeof queues - used, "%s%s", q ? "," : "", r->queues[q]);
            used = n < 0 ? sizeof queues : used + (size_t)n; /* a cut list still prints */
        }
        printf("%-16s %-22s %-8s %8u %8u %10llu  %s\n", r->rep_id, r->name, r->status,
               r->open_leads, r->capacity, (unsigned long long)r->assigned_total, queues);
    }
}

/* Parses "0".."LIMIT_MAX" into *OUT; prints what is wrong and returns -1. */
static int s_limit(const char *verb, const char *what, const char *text, uint32_t *out)
{
    char *end;
    long value = strtol(text, &end, 10);
    if (!*text || *end || value < 0 || value > LIMIT_MAX) {
        fprintf(stderr, "leadopsctl rep %s: %s must be a number 0..%d, got \"%s\"\n", verb, what,
                LIMIT_MAX, text);
        return -1;
    }
    *out = (uint32_t)value;
    return 0;
}

static bool s_outcome_known(const char *outcome)
{
    return strcmp(outcome, "won") == 0 || strcmp(outcome, "lost") == 0 ||
           strcmp(outcome, "disqualified") == 0;
}

/* Fills CMD from the arguments of VERB: POS its positionals, OPT the value
 * of each of its options (NULL when not given; strings borrowed from argv).
 * Returns 0, or 2 after printing a usage error. */
static int s_command(const s_verb_t *verb, char **pos, char **opt, Leadops__RepCommand *cmd)
{
    const char *name = verb->name;
    if (strcmp(name, "list") == 0) {
        cmd->action = LEADOPS__REP_COMMAND__ACTION__LIST_REPS;
        return 0;
    }
    /* Every other verb but reassign starts with the rep. */
    cmd->rep_id = pos[0];
    if (strcmp(name, "online") == 0) {
        cmd->action = LEADOPS__REP_COMMAND__ACTION__GO_ONLINE;
    } else if (strcmp(name, "away") == 0) {
        cmd->action = LEADOPS__REP_COMMAND__ACTION__GO_AWAY;
    } else if (strcmp(name, "offline") == 0) {
        cmd->action = LEADOPS__REP_COMMAND__ACTION__GO_OFFLINE;
    } else if (strcmp(name, "capacity") == 0) {
        cmd->action = LEADOPS__REP_COMMAND__ACTION__SET_CAPACITY;
        if (s_limit(name, "N", pos[1], &cmd->capacity) < 0)
            return 2;
    } else if (strcmp(name, "caps") == 0) {
        cmd->action = LEADOPS__REP_COMMAND__ACTION__SET_CAPS;
        if (!opt[0] || !opt[1]) {
            /* One alone would silently reset the other to no cap. */
            fprintf(stderr,
                    "leadopsctl rep caps: give both --daily N and --weekly N (0: no cap)\n");
            return 2;
        }
        if (s_limit(name, "--daily", opt[0], &cmd->daily_cap) < 0 ||
            s_limit(name, "--weekly", opt[1], &cmd->weekly_cap) < 0)
            return 2;
    } else if (strcmp(name, "accept") == 0) {
        cmd->action = LEADOPS__REP_COMMAND__ACTION__ACCEPT_LEAD;
        cmd->lead_id = pos[1];
    } else if (strcmp(name, "reject") == 0) {
        cmd->action = LEADOPS__REP_COMMAND__ACTION__REJECT_LEAD;
        cmd->lead_id = pos[1];
        cmd->reason = opt[0] ? opt[0] : "";
    } else if (strcmp(name, "reassign") == 0) {
        cmd->action = LEADOPS__REP_COMMAND__ACTION__REASSIGN_LEAD;
        cmd->rep_id = "";
        cmd->lead_id = pos[0];
        if (!opt[0] || !*opt[0]) {
            fprintf(stderr, "leadopsctl rep reassign: --to REP_ID is required\n");
            return 2;
        }
        cmd->to_rep_id = opt[0];
        const char *user = getenv("USER");
        cmd->reason = opt[1] ? opt[1] : user ? (char *)user : "";
    } else {
        cmd->action = LEADOPS__REP_COMMAND__ACTION__CLOSE_LEAD;
        cmd->lead_id = pos[1];
        cmd->outcome = opt[0] ? opt[0] : "closed";
        if (opt[0] && !s_outcome_known(opt[0])) {
            fprintf(stderr,
                    "leadopsctl rep close: --outcome is won, lost or disqualified, not \"%s\"\n",
                    opt[0]);
            return 2;
        }
    }
    return 0;
}

/* Prints the answer to CMD; returns the exit status. */
static int s_print_answer(const s_verb_t *verb, const Leadops__RepCommand *cmd,
                          const Leadops__Ack *ack)
{
    const char *reason = ack->reason && *ack->reason ? ack->reason : "no reason given";
    if (ack->status == LEADOPS__ACK__STATUS__BUSY) {
        fprintf(stderr, "leadopsctl rep %s: routing cannot do it now (%s); try again in %u ms\n",
                verb->name, reason, ack->retry_after_ms ? ack->retry_after_ms : 1000);
        return 1;
    }
    if (ack->status != LEADOPS__ACK__STATUS__OK) {
        fprintf(stderr, "leadopsctl rep %s: refused: %s\n", verb->name, reason);
        if (cmd->lead_id && *cmd->lead_id)
            fprintf(stderr,
                    "leadopsctl rep %s: `leadopsctl lead %s` shows its status and rep, "
                    "`leadopsctl explain %s` its routing\n",
                    verb->name, cmd->lead_id, cmd->lead_id);
        return 1;
    }
    if (cmd->action == LEADOPS__REP_COMMAND__ACTION__LIST_REPS) {
        s_print_reps(ack);
        return 0;
    }
    printf("ok: %s\n", reason);
    for (size_t i = 0; i < ack->n_assignments; i++) {
        const Leadops__Assignment *a = ack->assignments[i];
        printf("assigned %s (queue %s) to %s%s%s\n", a->lead_id, a->queue, a->rep_id,
               a->reason && *a->reason ? ": " : "", a->reason ? a->reason : "");
    }
    return 0;
}

int ctl_rep(int argc, char **argv, const config_t *cfg)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
        return s_usage(argc < 2 ? stderr : stdout);
    const s_verb_t *verb = NULL;
    for (size_t i = 0; i < VERB_COUNT; i++)
        if (strcmp(argv[1], s_verbs[i].name) == 0)
            verb = &s_verbs[i];
    if (!verb) {
        fprintf(stderr, "leadopsctl rep: unknown verb '%s'\n", argv[1]);
        return s_usage(stderr);
    }
    char *pos[2] = {NULL, NULL}, *opt[OPTIONS_MAX] = {NULL};
    int count = 0;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return s_verb_usage(stdout, verb);
        int o = 0;
        while (o < OPTIONS_MAX && verb->options[o] && strcmp(argv[i], verb->options[o]) != 0)
            o++;
        if (o < OPTIONS_MAX && verb->options[o] && i + 1 < argc)
            opt[o] = argv[++i];
        else if (argv[i][0] != '-' && count < verb->positionals)
            pos[count++] = argv[i];
        else
            return s_verb_usage(stderr, verb);
    }
    if (count != verb->positionals)
        return s_verb_usage(stderr, verb);
    Leadops__RepCommand cmd = LEADOPS__REP_COMMAND__INIT;
    int rc = s_command(verb, pos, opt, &cmd);
    if (rc)
        return rc;
    Leadops__Ack *ack = s_request(cfg, &cmd);
    if (!ack)
        return 1;
    rc = s_print_answer(verb, &cmd, ack);
    leadops__ack__free_unpacked(ack, NULL);
    return rc;
}
