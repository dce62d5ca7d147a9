/* hop.h — the sender side of one at-least-once hop between two services.
 *
 * A sender records each message as in flight (a sorted set scored by its
 * redelivery deadline, plus optionally the bytes) in the same Lua script
 * that makes its own change; the receiver clears the entry in the same
 * script as its own change and ignores a message whose entry is gone. A
 * timer in the sender calls hop_claim to re-send what is overdue. See
 * DESIGN.md, "Invariants". A hop_t borrows its store. */
#ifndef LEADOPS_HOP_H
#define LEADOPS_HOP_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "store.h"

typedef struct hop hop_t;

/* A hop named NAME ("scoring", "routing") under PREFIX; WITH_MESSAGES when
 * the sender keeps the message bytes in <prefix>:inflight:<name>:msg. */
hop_t *hop_new(store_t *store, const char *prefix, const char *name, bool with_messages,
               int redelivery_ms, err_t *err);
void hop_destroy(hop_t **self_p);

const char *hop_key(const hop_t *self);         /* <prefix>:inflight:<name> */
const char *hop_message_key(const hop_t *self); /* <prefix>:inflight:<name>:msg */
int hop_redelivery_ms(const hop_t *self);

/* Called for each claimed entry; MESSAGE is NULL when the hop keeps none. */
typedef void (*hop_resend_fn)(void *arg, const char *member, const void *message, size_t size);

/* Claims up to LIMIT overdue entries and calls RESEND for each. Returns the
 * number claimed, or -1 with *err set. */
int hop_claim(hop_t *self, int64_t now_ms, size_t limit, hop_resend_fn resend, void *arg,
              err_t *err);

/* Number of entries in flight, or -1 with *err set. */
long long hop_pending(hop_t *self, err_t *err);

#endif
