/* leadops-ingest: validates, normalizes and journals leads and activities. */
#include <stdlib.h>
#include <zmq.h>

#include "ingest.h"
#include "log.h"
#include "service.h"

static volatile sig_atomic_t s_stop;

int main(int argc, char **argv)
{
    config_t *cfg = service_start(argc, argv, "leadops-ingest",
                                  "Accepts leads and activities (ZeroMQ protobuf and HTTP JSON), "
                                  "journals them in Redis and passes them to scoring.",
                                  &s_stop);
    void *ctx = zmq_ctx_new();
    err_t err = {0};
    ingest_t *ingest = ingest_new(cfg, ctx, &err);
    if (!ingest) {
        log_error("cannot start: %s", err.msg);
        zmq_ctx_term(ctx);
        config_destroy(&cfg);
        return 1;
    }
    int rc = ingest_run(ingest, &s_stop);
    ingest_destroy(&ingest);
    zmq_ctx_term(ctx);
    config_destroy(&cfg);
    return rc == 0 ? 0 : 1;
}
