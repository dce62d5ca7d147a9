/* store_value.h — inside the store: hiredis' reader makes store_value_t
 * trees (store.h) directly. Only store.c sets it on its contexts. */
#ifndef LEADOPS_STORE_VALUE_H
#define LEADOPS_STORE_VALUE_H

#include <hiredis/hiredis.h>

#include "store.h"

/* Reply functions for redisReader.fn: every reply read is a store_value_t,
 * freed with store_value_free. */
redisReplyObjectFunctions *store_value_reply_functions(void);

#endif
