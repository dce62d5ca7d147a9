/* leadops-scoring: scores leads and passes qualified ones to routing. */
#include <stdlib.h>
#include <zmq.h>

#include "log.h"
#include "scoring.h"
#include "service.h"

static volatile sig_atomic_t s_stop;

int main(int argc, char **argv)
{
    config_t *cfg = service_start(argc, argv, "leadops-scoring",
                                  "Scores leads from ingest (fit rules and activity points) and "
                                  "passes qualified leads to routing.",
                                  &s_stop);
    void *ctx = zmq_ctx_new();
    err_t err = {0};
    scoring_t *scoring = scoring_new(cfg, ctx, &err);
    if (!scoring) {
        log_error("cannot start: %s", err.msg);
        zmq_ctx_term(ctx);
        config_destroy(&cfg);
        return 1;
    }
    int rc = scoring_run(scoring, &s_stop);
    scoring_destroy(&scoring);
    zmq_ctx_term(ctx);
    config_destroy(&cfg);
    return rc == 0 ? 0 : 1;
}
