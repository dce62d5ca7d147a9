/* leadops-reporting — listens to the event bus and serves the JSON API,
 * the dashboard data and Prometheus /metrics. All the work is in
 * reporting.c; this file wires configuration, signals and the loop. */
#include <signal.h>
#include <stdio.h>
#include <zmq.h>

#include "config.h"
#include "log.h"
#include "reporting.h"
#include "service.h"

int main(int argc, char **argv)
{
    volatile sig_atomic_t stop = 0;
    config_t *cfg = service_start(argc, argv, "leadops-reporting",
                                  "LeadOps reporting: event bus counters, JSON API over the "
                                  "live state and Prometheus /metrics.",
                                  &stop);
    void *zmq_ctx = zmq_ctx_new();
    err_t err = {0};
    reporting_t *reporting = zmq_ctx ? reporting_new(cfg, zmq_ctx, &err) : NULL;
    if (!reporting) {
        log_error("cannot start: %s", zmq_ctx ? err.msg : "zmq_ctx_new failed");
        if (zmq_ctx)
            zmq_ctx_term(zmq_ctx);
        config_destroy(&cfg);
        return 1;
    }

    char host[256];
    int port = 0;
    if (config_split_listen(cfg->http_reporting_listen, host, sizeof host, &port, NULL) < 0)
        snprintf(host, sizeof host, "%s", "127.0.0.1");
    log_info("reporting API on http://%s:%d, events on %s", host, reporting_http_port(reporting),
             cfg->ep_events);

    int rc = reporting_run(reporting, &stop);
    reporting_destroy(&reporting);
    zmq_ctx_term(zmq_ctx);
    log_info("stopped");
    config_destroy(&cfg);
    return rc == 0 ? 0 : 1;
}
