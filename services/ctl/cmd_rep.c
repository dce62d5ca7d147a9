/* leadopsctl rep: rep commands to routing over ZeroMQ (REQ/ROUTER). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "auth.h"
#include "ctl.h"
#include "envelope.h"
#include "zutil.h"

#define REP_TIMEOUT_MS 5000

static int s_usage(FILE *out)
{
    fprintf(out, "usage: leadopsctl rep list\n"
                 "       leadopsctl rep online REP_ID\n"
                 "       leadopsctl rep offline REP_ID\n"
                 "       leadopsctl rep capacity REP_ID N\n"
                 "       leadopsctl rep close REP_ID LEAD_ID [--outcome won|lost|disqualified]\n"
                 "Sends a rep command to routing (endpoints.commands) and prints the answer;\n"
                 "freed capacity pulls waiting leads at once, and those are listed.\n");
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

int ctl_rep(int argc, char **argv, const config_t *cfg)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0)
        return s_usage(argc < 2 ? stderr : stdout);
    Leadops__RepCommand cmd = LEADOPS__REP_COMMAND__INIT;
    const char *verb = argv[1];
    if (strcmp(verb, "list") == 0 && argc == 2) {
        cmd.action = LEADOPS__REP_COMMAND__ACTION__LIST_REPS;
    } else if ((strcmp(verb, "online") == 0 || strcmp(verb, "offline") == 0) && argc == 3) {
        cmd.action = verb[1] == 'n' ? LEADOPS__REP_COMMAND__ACTION__GO_ONLINE
                                    : LEADOPS__REP_COMMAND__ACTION__GO_OFFLINE;
        cmd.rep_id = argv[2];
    } else if (strcmp(verb, "capacity") == 0 && argc == 4) {
        char *end;
        long capacity = strtol(argv[3], &end, 10);
        if (*end || capacity < 0 || capacity > 100000) {
            fprintf(stderr, "leadopsctl rep capacity: N must be a number 0..100000\n");
            return 2;
        }
        cmd.action = LEADOPS__REP_COMMAND__ACTION__SET_CAPACITY;
        cmd.rep_id = argv[2];
        cmd.capacity = (uint32_t)capacity;
    } else if (strcmp(verb, "close") == 0 &&
               (argc == 4 || (argc == 6 && strcmp(argv[4], "--outcome") == 0))) {
        cmd.action = LEADOPS__REP_COMMAND__ACTION__CLOSE_LEAD;
        cmd.rep_id = argv[2];
        cmd.lead_id = argv[3];
        cmd.outcome = argc == 6 ? argv[5] : "closed";
    } else {
        return s_usage(stderr);
    }
    Leadops__Ack *ack = s_request(cfg, &cmd);
    if (!ack)
        return 1;
    int rc = ack->status == LEADOPS__ACK__STATUS__OK ? 0 : 1;
    if (cmd.action == LEADOPS__REP_COMMAND__ACTION__LIST_REPS && rc == 0) {
        s_print_reps(ack);
    } else {
        printf("%s: %s\n", rc == 0 ? "ok" : "failed", ack->reason);
        for (size_t i = 0; i < ack->n_assignments; i++)
            printf("assigned %s (queue %s) to %s\n", ack->assignments[i]->lead_id,
                   ack->assignments[i]->queue, ack->assignments[i]->rep_id);
    }
    leadops__ack__free_unpacked(ack, NULL);
    return rc;
}
