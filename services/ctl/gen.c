/* gen.c — the synthetic stream behind `leadopsctl gen`; see gen.h.
 *
 * Every draw comes from one xoshiro256** state seeded from the seed with
 * splitmix64, and draws happen in a fixed order per event, which is what
 * makes a stream reproducible. Leads live in a ring of the latest
 * GEN_RECENT_LEADS; funnel steps need leads at a given stage, so the ring
 * slots of leads with an open opportunity or an open proposal are also kept
 * in two pools that a step can draw from in O(1). */
#include "gen.h"

#include <assert.h>
#include <ctype.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen_tables.h"

#define GEN_COUNT(array) (sizeof(array) / sizeof((array)[0]))
#define GEN_PICK(self, table)                                                                      \
    s_pick((self), &(table)[0].weight, GEN_COUNT(table), sizeof((table)[0]))

/* Tries before a biased draw settles for the last candidate it saw. */
#define GEN_BIAS_TRIES  8
#define GEN_TEXT_MAX    128 /* ids, company names: far above what the tables can make */
#define GEN_MS_PER_DAY  INT64_C(86400000)
#define GEN_MS_PER_HOUR INT64_C(3600000)

typedef enum {
    STAGE_NONE = 0,    /* no opportunity yet */
    STAGE_OPPORTUNITY, /* in the opportunity pool */
    STAGE_PROPOSAL,    /* in the proposal pool */
    STAGE_CLOSED,      /* won or lost: no more funnel steps */
} stage_t;

typedef struct {
    uint64_t seq;      /* 1-based lead number; 0 = slot never used */
    uint16_t pool_pos; /* index in its stage's pool, while OPPORTUNITY or PROPOSAL */
    uint8_t source;    /* row of s_sources */
    uint8_t stage;     /* stage_t */
    uint8_t product;   /* row of s_products, set when the opportunity opens */
    uint8_t rep;       /* 1 + row of s_reps; 0 until a rep first touches the lead */
} ring_slot_t;

typedef struct {
    uint16_t slots[GEN_RECENT_LEADS]; /* ring slot indices; a slot is in at most one pool */
    size_t count;
} stage_pool_t;

_Static_assert(GEN_RECENT_LEADS <= 65536, "pools and pool_pos hold ring slots in 16 bits");

struct gen {
    uint64_t rng[4];         /* xoshiro256** state */
    uint64_t seed;           /* printed in ids, so streams of two seeds never share one */
    uint64_t lead_count;     /* leads emitted; the newest lead's seq */
    uint64_t activity_count; /* activities emitted; the newest activity's number */
    ring_slot_t ring[GEN_RECENT_LEADS]; /* lead seq N lives in slot (N - 1) % GEN_RECENT_LEADS */
    stage_pool_t opportunities;         /* leads with an opportunity and no proposal yet */
    stage_pool_t proposals;             /* leads with a proposal and no decision yet */
};

/* --- Randomness ----------------------------------------------------------- */

static uint64_t s_splitmix64(uint64_t *state)
{
    uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static uint64_t s_rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t s_next(gen_t *self)
{
    uint64_t *s = self->rng;
    uint64_t result = s_rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = s_rotl(s[3], 45);
    return result;
}

/* Uniform in [0, 1) with 53 random bits. */
static double s_uniform(gen_t *self)
{
    return (double)(s_next(self) >> 11) * 0x1.0p-53;
}

/* Uniform in [0, N); N > 0. The bias of scaling a 53-bit fraction is far
 * below anything a test of a synthetic stream can see. */
static size_t s_below(gen_t *self, size_t n)
{
    assert(n > 0);
    size_t value = (size_t)(s_uniform(self) * (double)n);
    return value < n ? value : n - 1;
}

static bool s_chance(gen_t *self, double probability)
{
    return s_uniform(self) < probability;
}

/* Picks a row of a table whose rows each hold a uint32_t weight: FIRST_WEIGHT
 * points at row 0's weight and STRIDE is the row size, so one function serves
 * every table (see GEN_PICK). */
static size_t s_pick(gen_t *self, const uint32_t *first_weight, size_t count, size_t stride)
{
    const char *base = (const char *)first_weight;
    uint64_t total = 0;
    for (size_t i = 0; i < count; i++)
        total += *(const uint32_t *)(const void *)(base + i * stride);
    assert(total > 0);
    uint64_t target = (uint64_t)(s_uniform(self) * (double)total);
    for (size_t i = 0; i < count; i++) {
        uint32_t weight = *(const uint32_t *)(const void *)(base + i * stride);
        if (target < weight)
            return i;
        target -= weight;
    }
    return count - 1;
}

/* Approximately normal (Irwin-Hall, 12 uniforms): no libm, and the tails it
 * lacks beyond 6 sd are clipped away by every caller anyway. */
static double s_normal(gen_t *self, double mean, double sd)
{
    double sum = 0;
    for (int i = 0; i < 12; i++)
        sum += s_uniform(self);
    return mean + (sum - 6.0) * sd;
}

/* --- Lead ring and funnel pools ------------------------------------------- */

static size_t s_slot_of(uint64_t seq)
{
    return (size_t)((seq - 1) % GEN_RECENT_LEADS);
}

static void s_pool_add(gen_t *self, stage_pool_t *pool, size_t slot)
{
    assert(pool->count < GEN_RECENT_LEADS);
    self->ring[slot].pool_pos = (uint16_t)pool->count;
    pool->slots[pool->count++] = (uint16_t)slot;
}

static void s_pool_remove(gen_t *self, stage_pool_t *pool, size_t slot)
{
    size_t pos = self->ring[slot].pool_pos;
    assert(pos < pool->count && pool->slots[pos] == slot);
    uint16_t moved = pool->slots[--pool->count];
    pool->slots[pos] = moved;
    self->ring[moved].pool_pos = (uint16_t)pos;
}

static stage_pool_t *s_pool_of(gen_t *self, uint8_t stage)
{
    if (stage == STAGE_OPPORTUNITY)
        return &self->opportunities;
    if (stage == STAGE_PROPOSAL)
        return &self->proposals;
    return NULL;
}

/* Moves the lead in SLOT to STAGE, keeping the pools in step. */
static void s_set_stage(gen_t *self, size_t slot, uint8_t stage)
{
    stage_pool_t *from = s_pool_of(self, self->ring[slot].stage);
    if (from)
        s_pool_remove(self, from, slot);
    self->ring[slot].stage = stage;
    stage_pool_t *to = s_pool_of(self, stage);
    if (to)
        s_pool_add(self, to, slot);
}

/* A recent lead: its age in leads is N * u^3, so half of all draws fall on
 * the newest eighth of the ring, the way interest peaks right after sign-up. */
static size_t s_recent_slot(gen_t *self)
{
    uint64_t in_ring = self->lead_count < GEN_RECENT_LEADS ? self->lead_count : GEN_RECENT_LEADS;
    double u = s_uniform(self);
    uint64_t age = (uint64_t)((double)in_ring * u * u * u);
    if (age >= in_ring)
        age = in_ring - 1;
    return s_slot_of(self->lead_count - age);
}

static double s_max_conversion_index(void)
{
    double max = 0;
    for (size_t i = 0; i < GEN_COUNT(s_sources); i++)
        if (s_sources[i].conversion_index > max)
            max = s_sources[i].conversion_index;
    return max;
}

/* Chance that a lead with no opportunity yet gets one: its source's
 * conversion index over the highest. Qualification is where source matters,
 * so this one bias makes won deals per lead follow the index, as in the data;
 * later steps draw from their pool without bias. */
static double s_acceptance(const ring_slot_t *lead)
{
    return s_sources[lead->source].conversion_index / s_max_conversion_index();
}

/* Picks the lead for funnel STEP, or returns -1 when no lead can take it. */
static long s_funnel_slot(gen_t *self, gen_step_t step)
{
    if (step != GEN_STEP_OPEN) {
        stage_pool_t *pool = step == GEN_STEP_PROPOSE ? &self->opportunities : &self->proposals;
        return pool->count > 0 ? (long)pool->slots[s_below(self, pool->count)] : -1;
    }
    long last = -1;
    for (int attempt = 0; attempt < GEN_BIAS_TRIES; attempt++) {
        size_t slot = s_recent_slot(self);
        if (self->ring[slot].stage != STAGE_NONE)
            continue;
        last = (long)slot;
        if (s_chance(self, s_acceptance(&self->ring[slot])))
            break;
    }
    return last;
}

/* The first activity row for STEP. */
static size_t s_row_of_step(gen_step_t step)
{
    for (size_t i = 0; i < GEN_COUNT(s_activities); i++)
        if (s_activities[i].step == step)
            return i;
    assert(!"every funnel step has an activity row");
    return 0;
}

/* The first activity row of TYPE. */
static size_t s_row_of_type(const char *type)
{
    for (size_t i = 0; i < GEN_COUNT(s_activities); i++)
        if (strcmp(s_activities[i].type, type) == 0)
            return i;
    assert(!"the type has an activity row");
    return 0;
}

/* --- JSON ------------------------------------------------------------------ */

/* Sets KEY to VALUE (stolen); a NULL VALUE means an allocation failed. */
static int s_put(json_t *object, const char *key, json_t *value)
{
    return json_object_set_new(object, key, value) == 0 ? 0 : -1;
}

static void s_hex_id(gen_t *self, char out[33])
{
    uint64_t high = s_next(self);
    uint64_t low = s_next(self);
    snprintf(out, 33, "%016" PRIx64 "%016" PRIx64, high, low);
}

static void s_lead_id(const gen_t *self, uint64_t seq, char *out, size_t size)
{
    snprintf(out, size, "L-%" PRIx64 "-%" PRIu64, self->seed, seq);
}

/* Copies SRC into OUT in lower case, keeping only letters and digits. */
static void s_slug(const char *src, char *out, size_t size)
{
    size_t n = 0;
    for (; *src && n + 1 < size; src++)
        if (isalnum((unsigned char)*src))
            out[n++] = (char)tolower((unsigned char)*src);
    out[n] = '\0';
}

static size_t s_pick_city(gen_t *self, const char *country)
{
    uint64_t total = 0;
    for (size_t i = 0; i < GEN_COUNT(s_cities); i++)
        if (strcmp(s_cities[i].country, country) == 0)
            total += s_cities[i].weight;
    assert(total > 0);
    uint64_t target = (uint64_t)(s_uniform(self) * (double)total);
    size_t last = 0;
    for (size_t i = 0; i < GEN_COUNT(s_cities); i++) {
        if (strcmp(s_cities[i].country, country) != 0)
            continue;
        last = i;
        if (target < s_cities[i].weight)
            return i;
        target -= s_cities[i].weight;
    }
    return last;
}

/* A company's yearly revenue: SIZE employees times a revenue per employee
 * drawn between the measured deciles, rounded to thousands. */
static double s_annual_revenue(gen_t *self, uint32_t size)
{
    double position = s_uniform(self) * 10.0;
    size_t decile = (size_t)position;
    if (decile > 9)
        decile = 9;
    double low = s_revenue_per_employee_deciles[decile];
    double high = s_revenue_per_employee_deciles[decile + 1];
    double per_employee = low + (high - low) * (position - (double)decile);
    return (double)(int64_t)(per_employee * size / 1000.0 + 0.5) * 1000.0;
}

static json_t *s_make_lead(gen_t *self, int64_t now_ms)
{
    uint64_t seq = ++self->lead_count;
    size_t slot = s_slot_of(seq);
    /* The ring overwrites the oldest lead: it leaves the funnel pools too. */
    s_set_stage(self, slot, STAGE_NONE);
    ring_slot_t *lead = &self->ring[slot];
    *lead = (ring_slot_t){.seq = seq};

    char event_id[33];
    s_hex_id(self, event_id);
    lead->source = (uint8_t)GEN_PICK(self, s_sources);
    const gen_source_row_t *source = &s_sources[lead->source];
    const char *campaign = source->campaigns[s_below(self, GEN_COUNT(source->campaigns))];
    const gen_country_row_t *country = &s_countries[GEN_PICK(self, s_countries)];
    const gen_city_row_t *city = &s_cities[s_pick_city(self, country->code)];
    const char *industry = s_industries[GEN_PICK(self, s_industries)].name;
    const char *title = s_titles[GEN_PICK(self, s_titles)].name;
    const char *first = s_first_names[s_below(self, GEN_COUNT(s_first_names))];
    const char *last = s_last_names[s_below(self, GEN_COUNT(s_last_names))];
    const char *prefix = s_company_prefixes[s_below(self, GEN_COUNT(s_company_prefixes))];
    const char *stem = s_company_stems[s_below(self, GEN_COUNT(s_company_stems))];
    const gen_size_row_t *size_bin = &s_company_sizes[GEN_PICK(self, s_company_sizes)];
    uint32_t company_size =
        size_bin->min + (uint32_t)s_below(self, size_bin->max - size_bin->min + 1);
    double annual_revenue = s_annual_revenue(self, company_size);

    char company[GEN_TEXT_MAX], domain[96], email[2 * GEN_TEXT_MAX];
    char lead_id[GEN_TEXT_MAX], phone[32], first_slug[32], last_slug[32], company_slug[64];
    snprintf(company, sizeof company, "%s%s %s", prefix, stem, country->legal_form);
    s_slug(first, first_slug, sizeof first_slug);
    s_slug(last, last_slug, sizeof last_slug);
    if (s_chance(self, s_free_mail_share)) {
        /* Free-mail addresses are crowded: many carry a number. */
        const char *free_domain = s_free_mail_domains[GEN_PICK(self, s_free_mail_domains)].name;
        snprintf(domain, sizeof domain, "%s", free_domain);
        if (s_chance(self, 0.5))
            snprintf(email, sizeof email, "%s.%s%02u@%s", first_slug, last_slug,
                     (unsigned)s_below(self, 100), domain);
        else
            snprintf(email, sizeof email, "%s.%s@%s", first_slug, last_slug, domain);
    } else {
        char name[64];
        snprintf(name, sizeof name, "%s%s", prefix, stem);
        s_slug(name, company_slug, sizeof company_slug);
        /* Half of local firms use the country domain, the rest .com. */
        snprintf(domain, sizeof domain, "%s.%s", company_slug,
                 s_chance(self, 0.5) ? country->tld : "com");
        snprintf(email, sizeof email, "%s.%s@%s", first_slug, last_slug, domain);
    }
    /* A national number of 10 digits under +1 and 9 elsewhere, never
     * starting with 0 or 1 (trunk and service prefixes). */
    int digits = strcmp(country->dial, "1") == 0 ? 10 : 9;
    int n = snprintf(phone, sizeof phone, "+%s%u", country->dial, 2 + (unsigned)s_below(self, 8));
    for (int i = 1; i < digits && n < (int)sizeof phone - 1; i++)
        phone[n++] = (char)('0' + s_below(self, 10));
    phone[n] = '\0';
    s_lead_id(self, seq, lead_id, sizeof lead_id);

    json_t *object = json_object();
    if (!object)
        return NULL;
    int rc = 0;
    rc |= s_put(object, "kind", json_string("lead"));
    rc |= s_put(object, "event_id", json_string(event_id));
    rc |= s_put(object, "lead_id", json_string(lead_id));
    rc |= s_put(object, "email", json_string(email));
    rc |= s_put(object, "first_name", json_string(first));
    rc |= s_put(object, "last_name", json_string(last));
    rc |= s_put(object, "phone", json_string(phone));
    rc |= s_put(object, "company", json_string(company));
    rc |= s_put(object, "title", json_string(title));
    rc |= s_put(object, "industry", json_string(industry));
    rc |= s_put(object, "company_size", json_integer(company_size));
    rc |= s_put(object, "annual_revenue", json_real(annual_revenue));
    rc |= s_put(object, "country", json_string(country->code));
    rc |= s_put(object, "region", json_string(city->region));
    rc |= s_put(object, "city", json_string(city->city));
    rc |= s_put(object, "source", json_string(source->name));
    rc |= s_put(object, "campaign", json_string(campaign));
    rc |= s_put(object, "language", json_string(country->language));
    rc |= s_put(object, "created_at_ms", json_integer(now_ms));
    if (rc != 0)
        json_decref(object);
    return rc == 0 ? object : NULL;
}

/* A proposal's or a won deal's amount: the product's list price scaled by
 * the measured close-value ratio, to whole currency units. */
static double s_deal_value(gen_t *self, const ring_slot_t *lead)
{
    double ratio = s_normal(self, s_close_ratio_mean, s_close_ratio_sd);
    if (ratio < s_close_ratio_min)
        ratio = s_close_ratio_min;
    if (ratio > s_close_ratio_max)
        ratio = s_close_ratio_max;
    return (double)(int64_t)(s_products[lead->product].price * ratio + 0.5);
}

static json_t *s_make_activity(gen_t *self, int64_t now_ms)
{
    size_t row = GEN_PICK(self, s_activities);
    long found = -1;
    /* A funnel step with no lead ready for it (early in a stream, mostly)
     * becomes the step before it, so the funnel's share of events holds and
     * its order per lead is never broken. */
    while (s_activities[row].step != GEN_STEP_NONE) {
        gen_step_t step = s_activities[row].step;
        found = s_funnel_slot(self, step);
        if (found >= 0)
            break;
        if (step == GEN_STEP_OPEN)
            row = s_row_of_type("call"); /* every lead tried is in the funnel already */
        else
            row = s_row_of_step(step == GEN_STEP_PROPOSE ? GEN_STEP_OPEN : GEN_STEP_PROPOSE);
    }
    const gen_activity_row_t *activity = &s_activities[row];
    size_t slot = found >= 0 ? (size_t)found : s_recent_slot(self);
    ring_slot_t *lead = &self->ring[slot];

    char event_id[33], activity_id[GEN_TEXT_MAX], lead_id[GEN_TEXT_MAX];
    s_hex_id(self, event_id);
    snprintf(activity_id, sizeof activity_id, "A-%" PRIx64 "-%" PRIu64, self->seed,
             ++self->activity_count);
    s_lead_id(self, lead->seq, lead_id, sizeof lead_id);

    /* One rep owns a lead from the first sales touch on. */
    if (activity->is_sales && lead->rep == 0)
        lead->rep = (uint8_t)(1 + s_below(self, GEN_COUNT(s_reps)));

    double value = -1;
    const char *outcome = NULL;
    switch (activity->step) {
    case GEN_STEP_OPEN:
        lead->product = (uint8_t)GEN_PICK(self, s_products);
        s_set_stage(self, slot, STAGE_OPPORTUNITY);
        value = s_products[lead->product].price;
        break;
    case GEN_STEP_PROPOSE:
        s_set_stage(self, slot, STAGE_PROPOSAL);
        value = s_deal_value(self, lead);
        break;
    case GEN_STEP_WIN:
        s_set_stage(self, slot, STAGE_CLOSED);
        value = s_deal_value(self, lead);
        outcome = "won";
        break;
    case GEN_STEP_LOSE:
        s_set_stage(self, slot, STAGE_CLOSED);
        outcome = "lost";
        break;
    case GEN_STEP_NONE:
        if (strcmp(activity->type, "call") == 0)
            outcome = s_chance(self, s_call_connected_share) ? "connected" : "no_answer";
        break;
    }

    json_t *object = json_object();
    if (!object)
        return NULL;
    int rc = 0;
    rc |= s_put(object, "kind", json_string("activity"));
    rc |= s_put(object, "event_id", json_string(event_id));
    rc |= s_put(object, "activity_id", json_string(activity_id));
    rc |= s_put(object, "lead_id", json_string(lead_id));
    rc |= s_put(object, "type", json_string(activity->type));
    rc |= s_put(object, "occurred_at_ms", json_integer(now_ms));
    rc |= s_put(object, "channel", json_string(activity->channel));
    if (activity->is_sales)
        rc |= s_put(object, "rep_id", json_string(s_reps[lead->rep - 1]));
    if (value >= 0)
        rc |= s_put(object, "value", json_real(value));
    if (outcome)
        rc |= s_put(object, "outcome", json_string(outcome));
    if (rc != 0)
        json_decref(object);
    return rc == 0 ? object : NULL;
}

/* --- Public API ------------------------------------------------------------ */

gen_t *gen_new(uint64_t seed)
{
    gen_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->seed = seed;
    uint64_t state = seed;
    for (int i = 0; i < 4; i++)
        self->rng[i] = s_splitmix64(&state);
    return self;
}

void gen_destroy(gen_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free(*self_p);
    *self_p = NULL;
}

json_t *gen_next(gen_t *self, int64_t now_ms, double activity_ratio)
{
    assert(self);
    if (!(activity_ratio > 0)) /* NaN too */
        activity_ratio = 0;
    if (activity_ratio > 0.999)
        activity_ratio = 0.999;
    /* Draw before checking for leads so the draw sequence does not depend on
     * how many leads exist. */
    bool wants_activity = s_chance(self, activity_ratio);
    if (wants_activity && self->lead_count > 0)
        return s_make_activity(self, now_ms);
    return s_make_lead(self, now_ms);
}

double gen_hour_weight(int hour)
{
    if (hour < 0 || hour > 23)
        return 0;
    uint64_t total = 0;
    for (int i = 0; i < 24; i++)
        total += s_arrivals_by_hour[i];
    return (double)s_arrivals_by_hour[hour] * 24.0 / (double)total;
}

double gen_weekday_weight(int weekday)
{
    if (weekday < 0 || weekday > 6)
        return 0;
    uint64_t total = 0;
    for (int i = 0; i < 7; i++)
        total += s_arrivals_by_weekday[i];
    return (double)s_arrivals_by_weekday[weekday] * 7.0 / (double)total;
}

double gen_rate_factor(int64_t now_ms, int utc_offset_min)
{
    int64_t local_ms = now_ms + (int64_t)utc_offset_min * 60000;
    int64_t day = local_ms / GEN_MS_PER_DAY;
    int64_t ms_of_day = local_ms % GEN_MS_PER_DAY;
    if (ms_of_day < 0) { /* C division truncates toward zero; we need floor */
        ms_of_day += GEN_MS_PER_DAY;
        day -= 1;
    }
    /* 1970-01-01 was a Thursday: weekday 3 when Monday is 0. */
    int weekday = (int)(((day % 7) + 7 + 3) % 7);
    int hour = (int)(ms_of_day / GEN_MS_PER_HOUR);
    return gen_hour_weight(hour) * gen_weekday_weight(weekday);
}

double gen_calibrated_activity_ratio(void)
{
    double per_lead = 0;
    for (size_t i = 0; i < GEN_COUNT(s_activities); i++)
        per_lead += s_activities[i].weight / 10000.0;
    return per_lead / (per_lead + 1.0);
}
