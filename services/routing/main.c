/* leadops-routing: assigns qualified leads to reps. */
#include <stdlib.h>
#include <zmq.h>

#include "log.h"
#include "routing.h"
#include "service.h"

static volatile sig_atomic_t s_stop;

int main(int argc, char **argv)
{
    config_t *cfg = service_start(argc, argv, "leadops-routing",
                                  "Matches qualified leads to queues and assigns them to reps by "
                                  "round robin within capacity; takes rep commands.",
                                  &s_stop);
    void *ctx = zmq_ctx_new();
    err_t err = {0};
    routing_t *routing = routing_new(cfg, ctx, &err);
    if (!routing) {
        log_error("cannot start: %s", err.msg);
        zmq_ctx_term(ctx);
        config_destroy(&cfg);
        return 1;
    }
    int rc = routing_run(routing, &s_stop);
    routing_destroy(&routing);
    zmq_ctx_term(ctx);
    config_destroy(&cfg);
    return rc == 0 ? 0 : 1;
}
