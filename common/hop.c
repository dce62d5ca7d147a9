#include "hop.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"

extern const char common_script_hop_claim[];

struct hop {
    store_t *store; /* borrowed */
    char key[KEY_MAX];
    char message_key[KEY_MAX];
    bool with_messages;
    int redelivery_ms;
    int claim_script;
};

hop_t *hop_new(store_t *store, const char *prefix, const char *name, bool with_messages,
               int redelivery_ms, err_t *err)
{
    hop_t *self = calloc(1, sizeof *self);
    if (!self) {
        err_set(err, ERR_NOMEM, "out of memory");
        return NULL;
    }
    self->store = store;
    snprintf(self->key, sizeof self->key, "%s:inflight:%s", prefix, name);
    snprintf(self->message_key, sizeof self->message_key, "%s:inflight:%s:msg", prefix, name);
    self->with_messages = with_messages;
    self->redelivery_ms = redelivery_ms;
    self->claim_script = store_script_register(store, "hop_claim", common_script_hop_claim, err);
    if (self->claim_script < 0) {
        free(self);
        return NULL;
    }
    return self;
}

void hop_destroy(hop_t **self_p)
{
    if (self_p && *self_p) {
        free(*self_p);
        *self_p = NULL;
    }
}

const char *hop_key(const hop_t *self)
{
    return self->key;
}

const char *hop_message_key(const hop_t *self)
{
    return self->message_key;
}

int hop_redelivery_ms(const hop_t *self)
{
    return self->redelivery_ms;
}

int hop_claim(hop_t *self, int64_t now_ms, size_t limit, hop_resend_fn resend, void *arg,
              err_t *err)
{
    char now[24], deadline[24], count[24];
    snprintf(now, sizeof now, "%lld", (long long)now_ms);
    snprintf(deadline, sizeof deadline, "%lld", (long long)(now_ms + self->redelivery_ms));
    snprintf(count, sizeof count, "%zu", limit);
    /* Only real keys are passed: a Redis ACL limited to the prefix would
     * refuse an empty key name. */
    const char *with_messages[] = {self->key, self->message_key, now, deadline, count};
    const char *without[] = {self->key, now, deadline, count};
    store_value_t *reply =
        self->with_messages
            ? store_script(self->store, self->claim_script, 2, 5, with_messages, NULL, err)
            : store_script(self->store, self->claim_script, 1, 4, without, NULL, err);
    if (!reply)
        return -1;
    if (reply->type == STORE_ERROR) {
        err_set(err, ERR_IO, "hop %s: %s", self->key, reply->str);
        store_value_free(&reply);
        return -1;
    }
    int claimed = 0;
    for (size_t i = 0; i + 1 < reply->count; i += 2) {
        const store_value_t *member = reply->elements[i];
        const store_value_t *message = reply->elements[i + 1];
        if (member->type != STORE_STR)
            continue;
        bool has_message = message->type == STORE_STR;
        resend(arg, member->str, has_message ? message->str : NULL, has_message ? message->len : 0);
        claimed++;
    }
    store_value_free(&reply);
    return claimed;
}

long long hop_pending(hop_t *self, err_t *err)
{
    store_value_t *reply = store_command(self->store, err, "ZCARD %s", self->key);
    if (!reply)
        return -1;
    long long n = store_value_int(reply, -1);
    store_value_free(&reply);
    if (n < 0)
        return err_set(err, ERR_IO, "ZCARD %s failed", self->key);
    return n;
}
