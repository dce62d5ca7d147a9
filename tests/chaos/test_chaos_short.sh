#!/usr/bin/env bash
# test_chaos_short.sh — the CI version of the chaos test (tests/chaos/chaos.sh): a 30 s stream
# at 300 events/s (a tenth of them re-sent as duplicates) while ingest, scoring, routing and
# reporting are each SIGKILLed twice at random moments, scoring and routing stalled (SIGSTOP)
# once past two redelivery periods, and Redis (appendfsync always) SIGKILLed once,
# then every invariant is checked and the counts printed. About 40 s on 2 cores.
# The seed is random and printed (CHAOS_SEED=N repeats a run's plan); the long version is
# `deploy/leadops chaos` (10 minutes by default).
exec bash "$(dirname "${BASH_SOURCE[0]}")/chaos.sh" --name chaos_short \
    --duration "${CHAOS_DURATION:-30}" --rate "${CHAOS_RATE:-300}" \
    --kills-per-service 2 --stalls-per-service 1 --redis-kills 1 --dup-share 0.1 \
    ${CHAOS_SEED:+--seed "$CHAOS_SEED"}
