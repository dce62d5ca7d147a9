/* commission.c — commissions from won deals by the configured plans; see commission.h. */
#include "commission.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "keys.h"

#define DAY_MS 86400000LL
/* Stream entries read per round trip. */
#define DEALS_PAGE 5000

/* ---- deals ------------------------------------------------------------- */

static const store_value_t *s_entry_field(const store_value_t *fields, const char *name)
{
    for (size_t i = 0; fields && i + 1 < fields->count; i += 2)
        if (strcmp(store_value_str(fields->elements[i], ""), name) == 0)
            return fields->elements[i + 1];
    return NULL;
}

static long long s_parse_ms(const store_value_t *value)
{
    const char *text = store_value_str(value, "");
    char *end = NULL;
    long long ms = strtoll(text, &end, 10);
    return end != text && *end == '\0' ? ms : 0;
}

/* A copy of TEXT that JSON can carry: nothing on the way checks UTF-8 and
 * jansson refuses what is not, so such bytes become '?' rather than the
 * deal vanishing from a report. */
static char *s_text_dup(const char *text)
{
    char *copy = strdup(text);
    json_t *probe = copy ? json_string(copy) : NULL;
    if (copy && !probe)
        for (char *p = copy; *p; p++)
            if ((unsigned char)*p >= 0x80)
                *p = '?';
    json_decref(probe);
    return copy;
}

/* Appends the deal in stream entry FIELDS to *DEALS. Returns -1 when out of memory. */
static int s_add_deal(const store_value_t *fields, commission_deal_t **deals, size_t *count,
                      size_t *room)
{
    long long at = s_parse_ms(s_entry_field(fields, "at"));
    if (at <= 0)
        return 0; /* not a deal we can place in time */
    if (*count == *room) {
        size_t bigger = *room ? *room * 2 : 1024;
        commission_deal_t *grown = realloc(*deals, bigger * sizeof *grown);
        if (!grown)
            return -1;
        *deals = grown;
        *room = bigger;
    }
    commission_deal_t *deal = &(*deals)[*count];
    deal->rep = s_text_dup(store_value_str(s_entry_field(fields, "rep"), ""));
    deal->lead = s_text_dup(store_value_str(s_entry_field(fields, "lead"), ""));
    deal->product = s_text_dup(store_value_str(s_entry_field(fields, "product"), ""));
    if (!deal->rep || !deal->lead || !deal->product) {
        free(deal->rep);
        free(deal->lead);
        free(deal->product);
        return -1;
    }
    deal->won = strcmp(store_value_str(s_entry_field(fields, "outcome"), ""), "won") == 0;
    deal->value = strtod(store_value_str(s_entry_field(fields, "value"), "0"), NULL);
    deal->at_ms = at;
    deal->opened_at_ms = s_parse_ms(s_entry_field(fields, "opened_at"));
    (*count)++;
    return 0;
}

int commission_deals_read(store_t *store, const char *prefix, commission_deal_t **deals,
                          size_t *count, err_t *err)
{
    char key[KEY_MAX], start[64] = "-";
    keys_format(key, sizeof key, prefix, "deals");
    size_t room = 0;
    *deals = NULL;
    *count = 0;
    for (;;) {
        store_value_t *page =
            store_command(store, err, "XRANGE %s %s + COUNT %d", key, start, DEALS_PAGE);
        if (!page)
            goto failed;
        if (page->type == STORE_ERROR) {
            err_set(err, ERR_IO, "XRANGE %s: %s", key, page->str ? page->str : "error");
            store_value_free(&page);
            goto failed;
        }
        size_t entries = page->type == STORE_ARRAY ? page->count : 0;
        for (size_t i = 0; i < entries; i++) {
            const store_value_t *entry = page->elements[i];
            if (s_add_deal(store_value_at(entry, 1), deals, count, &room) != 0) {
                store_value_free(&page);
                err_set(err, ERR_NOMEM, "out of memory reading %s", key);
                goto failed;
            }
        }
        /* The next page starts after the last id ("(" : exclusive, Redis 6.2+). */
        if (entries > 0)
            snprintf(start, sizeof start, "(%s",
                     store_value_str(store_value_at(page->elements[entries - 1], 0), ""));
        store_value_free(&page);
        if (entries < DEALS_PAGE)
            return 0;
    }
failed:
    commission_deals_free(deals, *count);
    *count = 0;
    return -1;
}

void commission_deals_free(commission_deal_t **deals_p, size_t count)
{
    if (!deals_p || !*deals_p)
        return;
    for (size_t i = 0; i < count; i++) {
        free((*deals_p)[i].rep);
        free((*deals_p)[i].lead);
        free((*deals_p)[i].product);
    }
    free(*deals_p);
    *deals_p = NULL;
}

/* ---- plans ------------------------------------------------------------- */

double commission_tiered(const commission_plan_t *plan, double value)
{
    if (!(value > 0))
        return 0;
    double earned = 0, lower = 0, rate = plan->rate;
    if (plan->quota > 0) {
        for (size_t i = 0; i < plan->accelerator_count; i++) {
            double threshold = plan->accelerators[i].above * plan->quota;
            if (value <= threshold)
                break;
            earned += (threshold - lower) * rate;
            lower = threshold;
            rate = plan->accelerators[i].rate;
        }
    }
    return earned + (value - lower) * rate;
}

static bool s_listed(char *const *list, size_t count, const char *text, bool fold_case)
{
    if (count == 0)
        return true;
    for (size_t i = 0; i < count; i++)
        if ((fold_case ? strcasecmp(list[i], text) : strcmp(list[i], text)) == 0)
            return true;
    return false;
}

const commission_plan_t *commission_plan_for(const config_t *cfg, const char *team,
                                             const char *product)
{
    for (size_t i = 0; i < cfg->commission_plan_count; i++) {
        const commission_plan_t *plan = &cfg->commission_plans[i];
        if (s_listed(plan->teams, plan->team_count, team, false) &&
            s_listed(plan->products, plan->product_count, product, true))
            return plan;
    }
    return NULL;
}

/* ---- periods ----------------------------------------------------------- */

static int64_t s_utc_ms(int year, int month0, int day)
{
    struct tm tm = {.tm_year = year - 1900, .tm_mon = month0, .tm_mday = day};
    return (int64_t)timegm(&tm) * 1000;
}

static void s_utc_tm(int64_t ms, struct tm *tm)
{
    time_t seconds = (time_t)(ms / 1000 - (ms % 1000 < 0));
    gmtime_r(&seconds, tm);
}

int64_t commission_period_start(const char *period, int64_t ms)
{
    struct tm tm;
    s_utc_tm(ms, &tm);
    int year = tm.tm_year + 1900;
    if (strcmp(period, "week") == 0) {
        int64_t day = (ms - (ms % DAY_MS + DAY_MS) % DAY_MS) / DAY_MS;
        int64_t weekday = ((day + 3) % 7 + 7) % 7; /* 1970-01-01: a Thursday */
        return (day - weekday) * DAY_MS;
    }
    if (strcmp(period, "quarter") == 0)
        return s_utc_ms(year, tm.tm_mon / 3 * 3, 1);
    if (strcmp(period, "year") == 0)
        return s_utc_ms(year, 0, 1);
    return s_utc_ms(year, tm.tm_mon, 1);
}

int64_t commission_period_next(const char *period, int64_t start_ms)
{
    if (strcmp(period, "week") == 0)
        return start_ms + 7 * DAY_MS;
    struct tm tm;
    s_utc_tm(start_ms, &tm);
    int months = strcmp(period, "quarter") == 0 ? 3 : strcmp(period, "year") == 0 ? 12 : 1;
    return s_utc_ms(tm.tm_year + 1900, tm.tm_mon + months, 1); /* timegm normalises the month */
}

void commission_period_label(const char *period, int64_t start_ms, char out[static 16])
{
    struct tm tm;
    s_utc_tm(start_ms, &tm);
    if (strcmp(period, "week") == 0)
        strftime(out, 16, "%Y-%m-%d", &tm);
    else if (strcmp(period, "quarter") == 0)
        snprintf(out, 16, "%04d-Q%c", (tm.tm_year + 1900) % 10000, "1234"[tm.tm_mon / 3 % 4]);
    else if (strcmp(period, "year") == 0)
        snprintf(out, 16, "%04d", (tm.tm_year + 1900) % 10000);
    else
        strftime(out, 16, "%Y-%m", &tm);
}

int commission_parse_date(const char *text, bool end_of_range, int64_t *ms, err_t *err)
{
    int year = 0, month = 0, day = 0, used = 0;
    bool whole_month = false;
    if (sscanf(text, "%4d-%2d-%2d%n", &year, &month, &day, &used) == 3 && text[used] == '\0') {
        whole_month = false;
    } else if (sscanf(text, "%4d-%2d%n", &year, &month, &used) == 2 && text[used] == '\0') {
        whole_month = true;
        day = 1;
    } else {
        return err_set(err, ERR_INPUT, "'%.40s' is not a date like 2017-03-01 or a month 2017-03",
                       text);
    }
    if (year < 1970 || month < 1 || month > 12 || day < 1 || day > 31)
        return err_set(err, ERR_INPUT, "'%.40s' is not a date", text);
    *ms = s_utc_ms(year, month - 1, day);
    struct tm check;
    s_utc_tm(*ms, &check);
    if (check.tm_mday != day) /* 2017-02-30 */
        return err_set(err, ERR_INPUT, "'%.40s' is not a date", text);
    if (end_of_range)
        *ms = whole_month ? s_utc_ms(year, month, 1) : *ms + DAY_MS;
    return 0;
}

/* ---- the report -------------------------------------------------------- */

/* One won deal in the range, with what it counts under. */
typedef struct {
    const commission_deal_t *deal; /* borrowed */
    size_t plan;                   /* index in cfg->commission_plans */
    int64_t period;                /* start ms */
} s_credit_t;

static int s_credit_cmp(const void *a, const void *b)
{
    const s_credit_t *x = a, *y = b;
    int by_rep = strcmp(x->deal->rep, y->deal->rep);
    if (by_rep != 0)
        return by_rep;
    if (x->plan != y->plan)
        return x->plan < y->plan ? -1 : 1;
    if (x->period != y->period)
        return x->period < y->period ? -1 : 1;
    if (x->deal->at_ms != y->deal->at_ms)
        return x->deal->at_ms < y->deal->at_ms ? -1 : 1;
    return strcmp(x->deal->lead, y->deal->lead);
}

static const rep_config_t *s_rep(const config_t *cfg, const char *id)
{
    for (size_t i = 0; i < cfg->rep_count; i++)
        if (strcmp(cfg->reps[i].id, id) == 0)
            return &cfg->reps[i];
    return NULL;
}

static json_t *s_day_json(int64_t ms)
{
    struct tm tm;
    char text[16];
    s_utc_tm(ms, &tm);
    strftime(text, sizeof text, "%Y-%m-%d", &tm);
    return json_string(text);
}

static json_t *s_plans_json(const config_t *cfg)
{
    json_t *plans = json_array();
    for (size_t i = 0; i < cfg->commission_plan_count; i++) {
        const commission_plan_t *plan = &cfg->commission_plans[i];
        json_t *accelerators = json_array(), *products = json_array(), *teams = json_array();
        for (size_t a = 0; a < plan->accelerator_count; a++)
            json_array_append_new(accelerators,
                                  json_pack("{s:f, s:f}", "above", plan->accelerators[a].above,
                                            "rate", plan->accelerators[a].rate));
        for (size_t p = 0; p < plan->product_count; p++)
            json_array_append_new(products, json_string(plan->products[p]));
        for (size_t t = 0; t < plan->team_count; t++)
            json_array_append_new(teams, json_string(plan->teams[t]));
        json_array_append_new(plans,
                              json_pack("{s:s, s:f, s:f, s:o, s:o, s:o}", "name", plan->name,
                                        "rate", plan->rate, "quota", plan->quota, "accelerators",
                                        accelerators, "products", products, "teams", teams));
    }
    return plans;
}

/* The line of CREDITS[0..COUNT) (one rep, plan and period, in time order). */
static json_t *s_line(const config_t *cfg, const s_credit_t *credits, size_t count,
                      double *commission, double *won_value)
{
    const commission_plan_t *plan = &cfg->commission_plans[credits[0].plan];
    char label[16];
    commission_period_label(cfg->commission_period, credits[0].period, label);
    json_t *deal_list = json_array();
    double cumulative = 0, earned = 0;
    for (size_t i = 0; i < count; i++) {
        const commission_deal_t *deal = credits[i].deal;
        double before = commission_tiered(plan, cumulative);
        cumulative += deal->value;
        double adds = commission_tiered(plan, cumulative) - before;
        earned += adds;
        json_t *item =
            json_pack("{s:s, s:s, s:f, s:I, s:f}", "lead", deal->lead, "product", deal->product,
                      "value", deal->value, "at", (json_int_t)deal->at_ms, "commission", adds);
        json_object_set_new(item, "day", s_day_json(deal->at_ms));
        json_array_append_new(deal_list, item);
    }
    *commission = earned;
    *won_value = cumulative;
    return json_pack("{s:s, s:s, s:I, s:f, s:f, s:o, s:f, s:o}", "plan", plan->name, "period",
                     label, "deals", (json_int_t)count, "won_value", cumulative, "quota",
                     plan->quota, "attainment",
                     plan->quota > 0 ? json_real(cumulative / plan->quota) : json_null(),
                     "commission", earned, "deal_list", deal_list);
}

static int s_rep_cmp(const void *a, const void *b)
{
    double x = json_number_value(json_object_get(*(json_t *const *)a, "commission"));
    double y = json_number_value(json_object_get(*(json_t *const *)b, "commission"));
    if (x != y)
        return x > y ? -1 : 1;
    return strcmp(json_string_value(json_object_get(*(json_t *const *)a, "rep")),
                  json_string_value(json_object_get(*(json_t *const *)b, "rep")));
}

json_t *commission_report(const config_t *cfg, const commission_deal_t *deals, size_t count,
                          int64_t from_ms, int64_t to_ms)
{
    s_credit_t *credits = calloc(count ? count : 1, sizeof *credits);
    if (!credits)
        return NULL;
    size_t credited = 0, unmatched = 0;
    double unmatched_value = 0;
    for (size_t i = 0; i < count; i++) {
        const commission_deal_t *deal = &deals[i];
        if (!deal->won || deal->at_ms < from_ms || deal->at_ms >= to_ms)
            continue;
        const rep_config_t *rep = s_rep(cfg, deal->rep);
        const commission_plan_t *plan =
            commission_plan_for(cfg, rep ? rep->team : "", deal->product);
        if (!plan) {
            unmatched++;
            unmatched_value += deal->value;
            continue;
        }
        credits[credited++] = (s_credit_t){
            .deal = deal,
            .plan = (size_t)(plan - cfg->commission_plans),
            .period = commission_period_start(cfg->commission_period, deal->at_ms),
        };
    }
    qsort(credits, credited, sizeof *credits, s_credit_cmp);

    json_t **reps = calloc(credited ? credited : 1, sizeof *reps);
    if (!reps) {
        free(credits);
        return NULL;
    }
    size_t rep_count = 0;
    double total_commission = 0, total_value = 0;
    for (size_t i = 0; i < credited;) {
        const char *id = credits[i].deal->rep;
        const rep_config_t *rep = s_rep(cfg, id);
        json_t *lines = json_array();
        double rep_commission = 0, rep_value = 0;
        size_t rep_deals = 0;
        while (i < credited && strcmp(credits[i].deal->rep, id) == 0) {
            size_t end = i + 1;
            while (end < credited && strcmp(credits[end].deal->rep, id) == 0 &&
                   credits[end].plan == credits[i].plan && credits[end].period == credits[i].period)
                end++;
            double commission, won_value;
            json_array_append_new(lines,
                                  s_line(cfg, credits + i, end - i, &commission, &won_value));
            rep_commission += commission;
            rep_value += won_value;
            rep_deals += end - i;
            i = end;
        }
        reps[rep_count++] = json_pack("{s:s, s:s, s:s, s:I, s:f, s:f, s:o}", "rep", id, "name",
                                      rep ? rep->name : id, "team", rep ? rep->team : "", "deals",
                                      (json_int_t)rep_deals, "won_value", rep_value, "commission",
                                      rep_commission, "lines", lines);
        total_commission += rep_commission;
        total_value += rep_value;
    }
    qsort(reps, rep_count, sizeof *reps, s_rep_cmp);
    json_t *rep_array = json_array();
    for (size_t r = 0; r < rep_count; r++)
        json_array_append_new(rep_array, reps[r]);
    free(reps);
    free(credits);

    json_t *report = json_object();
    json_object_set_new(report, "from", s_day_json(from_ms));
    json_object_set_new(report, "to", s_day_json(to_ms - DAY_MS));
    json_object_set_new(report, "period", json_string(cfg->commission_period));
    json_object_set_new(report, "plans", s_plans_json(cfg));
    json_object_set_new(report, "reps", rep_array);
    json_object_set_new(
        report, "unmatched",
        json_pack("{s:I, s:f}", "deals", (json_int_t)unmatched, "won_value", unmatched_value));
    json_object_set_new(report, "totals",
                        json_pack("{s:I, s:f, s:f}", "deals", (json_int_t)credited, "won_value",
                                  total_value, "commission", total_commission));
    return report;
}

json_t *commission_view(store_t *store, const config_t *cfg, const char *from, const char *to,
                        err_t *err)
{
    int64_t from_ms = 0, to_ms = 0;
    if (from && commission_parse_date(from, false, &from_ms, err) != 0)
        return NULL;
    if (to && commission_parse_date(to, true, &to_ms, err) != 0)
        return NULL;
    if (from && to && to_ms <= from_ms) {
        err_set(err, ERR_INPUT, "the range ends (%s) before it begins (%s)", to, from);
        return NULL;
    }
    commission_deal_t *deals = NULL;
    size_t count = 0;
    if (commission_deals_read(store, cfg->redis_prefix, &deals, &count, err) != 0)
        return NULL;
    /* Without a range: the latest period with a won deal, whole. */
    int64_t latest = 0;
    for (size_t i = 0; i < count; i++)
        if (deals[i].won && deals[i].at_ms > latest)
            latest = deals[i].at_ms;
    if (!from && !to) {
        from_ms = commission_period_start(cfg->commission_period, latest);
        to_ms = commission_period_next(cfg->commission_period, from_ms);
    } else if (!to) {
        to_ms = latest >= from_ms ? latest / DAY_MS * DAY_MS + DAY_MS : from_ms + DAY_MS;
    } else if (!from) {
        from_ms = commission_period_start(cfg->commission_period, to_ms - 1);
    }
    json_t *report = commission_report(cfg, deals, count, from_ms, to_ms);
    commission_deals_free(&deals, count);
    if (!report)
        err_set(err, ERR_NOMEM, "out of memory");
    return report;
}
