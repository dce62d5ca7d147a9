/* kpi_internal.h — what kpi.c (KPIs per rep), kpi_conversion.c
 * (conversion by origin) and kpi_ops.c (live operations) share. */
#ifndef LEADOPS_KPI_INTERNAL_H
#define LEADOPS_KPI_INTERNAL_H

#include <jansson.h>
#include <stddef.h>

/* PART / WHOLE, null when WHOLE is 0. */
json_t *kpi_ratio(double part, double whole);

/* Adds N (rounded) to the count NAME (LEN bytes, not NUL-terminated) of OBJECT. */
void kpi_count_add(json_t *object, const char *name, size_t len, double n);

#endif
