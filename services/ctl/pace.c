#include "pace.h"

#include <math.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include "envelope.h"
#include "service.h"

/* Set by SIGTERM / SIGINT: stop producing, wait for the acks, summarize. */
static volatile sig_atomic_t s_interrupted;

void pace_catch_signals(void)
{
    service_install_signals(&s_interrupted);
}

bool pace_interrupted(void)
{
    return s_interrupted != 0;
}

void pace_rate(int64_t start_ms, uint64_t sent, double rate)
{
    if (rate <= 0)
        return;
    double due_ms = (double)start_ms + 1000.0 * (double)sent / rate;
    double ahead = due_ms - (double)clock_mono_ms();
    if (ahead > 1) {
        struct timespec ts = {(time_t)(ahead / 1000), (long)fmod(ahead, 1000.0) * 1000000L};
        nanosleep(&ts, NULL);
    }
}
