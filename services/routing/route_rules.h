/* route_rules.h — matching a lead to a queue: the ordered rules of the
 * config, first match wins, else the fallback queue. Pure; no I/O. */
#ifndef LEADOPS_ROUTE_RULES_H
#define LEADOPS_ROUTE_RULES_H

#include "config.h"
#include "leadops.pb-c.h"

/* Returns the queue for LEAD (borrowed from CFG) and sets *RULE to the
 * matching rule's name, or to "fallback" when none matched. */
const char *route_rules_match(const config_t *cfg, const Leadops__Lead *lead, const char **rule);

#endif
