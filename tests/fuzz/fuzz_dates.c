/* fuzz_dates.c — libFuzzer target for the dates of GET /v1/commissions and
 * `leadopsctl report commissions` (?from=, ?to=, --from, --to): the bytes,
 * cut at the first NUL, go through commission_parse_date as a start and as
 * an inclusive end; a date it accepts must fall on a day boundary, an end
 * after its start, and its period starts and labels must hold together. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "commission.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define DAY_MS 86400000LL

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char text[64];
    size_t length = size < sizeof text - 1 ? size : sizeof text - 1;
    memcpy(text, data, length);
    text[length] = '\0';
    int64_t from = 0, to = 0;
    err_t err = {0};
    int from_rc = commission_parse_date(text, false, &from, &err);
    int to_rc = commission_parse_date(text, true, &to, &err);
    if (from_rc != to_rc)
        abort(); /* the same text is a date or not, whichever end it is */
    if (from_rc != 0)
        return 0;
    if (from % DAY_MS != 0 || to % DAY_MS != 0 || to <= from)
        abort();
    static const char *const periods[] = {"week", "month", "quarter", "year"};
    for (size_t i = 0; i < sizeof periods / sizeof periods[0]; i++) {
        int64_t start = commission_period_start(periods[i], from);
        int64_t next = commission_period_next(periods[i], start);
        char label[16];
        commission_period_label(periods[i], start, label);
        if (start > from || next <= from || label[0] == '\0')
            abort();
    }
    return 0;
}
