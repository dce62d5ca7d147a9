/* test_gen.c — the synthetic stream: reproducible per seed, shaped like the
 * calibrated tables, and every event a valid Lead or Activity for ingest. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ctype.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen.h"
#include "gen_tables.h"

#define COUNT(array) (sizeof(array) / sizeof((array)[0]))
#define T0_MS        INT64_C(1767225600000) /* 2026-01-01T00:00:00Z */

/* From the brief and the sample ingest config, not from gen_tables.h, so a
 * table typo fails here. */
static const char *const s_allowed_types[] = {
    "page_view",
    "email_open",
    "email_click",
    "form_fill",
    "content_download",
    "webinar",
    "demo_request",
    "pricing_view",
    "call",
    "email_sent",
    "meeting",
    "demo_completed",
    "proposal_sent",
    "opportunity_created",
    "deal_won",
    "deal_lost",
    "unsubscribe",
    "email_bounce",
};

static const char *const s_allowed_industries[] = {
    "software", "technology", "fintech",       "finance",  "telecommunications", "retail",
    "medical",  "marketing",  "entertainment", "services", "employment",
};

static bool s_in(const char *value, const char *const *list, size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (strcmp(value, list[i]) == 0)
            return true;
    return false;
}

static const char *s_str(const json_t *object, const char *key)
{
    const json_t *value = json_object_get(object, key);
    assert_non_null(value);
    assert_true(json_is_string(value));
    return json_string_value(value);
}

static json_int_t s_int(const json_t *object, const char *key)
{
    const json_t *value = json_object_get(object, key);
    assert_non_null(value);
    assert_true(json_is_integer(value));
    return json_integer_value(value);
}

static double s_real(const json_t *object, const char *key)
{
    const json_t *value = json_object_get(object, key);
    assert_non_null(value);
    assert_true(json_is_real(value));
    return json_real_value(value);
}

/* The lead number N of "L-<seed hex>-<N>". */
static long s_lead_number(const char *lead_id)
{
    const char *dash = strrchr(lead_id, '-');
    assert_non_null(dash);
    return strtol(dash + 1, NULL, 10);
}

static char *s_dump(const json_t *event)
{
    char *text = json_dumps(event, JSON_COMPACT | JSON_SORT_KEYS);
    assert_non_null(text);
    return text;
}

static void test_same_seed_same_stream(void **state)
{
    (void)state;
    gen_t *a = gen_new(42), *b = gen_new(42), *c = gen_new(42);
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);
    for (int i = 0; i < 5000; i++) {
        json_t *ea = gen_next(a, T0_MS + i * 1000, 0.6);
        json_t *eb = gen_next(b, T0_MS + i * 1000, 0.6);
        /* NOW_MS stamps times only: another clock gives the same draws. */
        json_t *ec = gen_next(c, T0_MS - 77 + i * 333, 0.6);
        char *ta = s_dump(ea), *tb = s_dump(eb);
        assert_string_equal(ta, tb);
        json_object_del(ea, "created_at_ms");
        json_object_del(ea, "occurred_at_ms");
        json_object_del(ec, "created_at_ms");
        json_object_del(ec, "occurred_at_ms");
        char *ta_untimed = s_dump(ea), *tc_untimed = s_dump(ec);
        assert_string_equal(ta_untimed, tc_untimed);
        free(ta);
        free(tb);
        free(ta_untimed);
        free(tc_untimed);
        json_decref(ea);
        json_decref(eb);
        json_decref(ec);
    }
    gen_destroy(&a);
    gen_destroy(&b);
    gen_destroy(&c);
}

static void test_different_seeds_differ(void **state)
{
    (void)state;
    gen_t *a = gen_new(1);
    gen_t *b = gen_new(2);
    int same = 0;
    for (int i = 0; i < 500; i++) {
        json_t *ea = gen_next(a, T0_MS, 0.6);
        json_t *eb = gen_next(b, T0_MS, 0.6);
        assert_string_not_equal(s_str(ea, "event_id"), s_str(eb, "event_id"));
        if (json_equal(ea, eb))
            same++;
        if (i == 0) /* both streams open with their lead 1, under their own seed */
            assert_string_not_equal(s_str(ea, "lead_id"), s_str(eb, "lead_id"));
        json_decref(ea);
        json_decref(eb);
    }
    assert_int_equal(same, 0);
    gen_destroy(&a);
    gen_destroy(&b);
}

static void s_check_hex32(const char *id)
{
    assert_int_equal(strlen(id), 32);
    for (const char *c = id; *c; c++)
        assert_true(isdigit((unsigned char)*c) || (*c >= 'a' && *c <= 'f'));
}

static void s_check_lead(const json_t *lead, int64_t now_ms)
{
    static const char *const keys[] = {
        "kind",      "event_id",     "lead_id",        "email",         "first_name",
        "last_name", "phone",        "company",        "title",         "industry",
        "country",   "region",       "city",           "source",        "campaign",
        "language",  "company_size", "annual_revenue", "created_at_ms",
    };
    assert_int_equal(json_object_size(lead), COUNT(keys));
    assert_int_equal(s_int(lead, "created_at_ms"), now_ms);
    assert_true(s_int(lead, "company_size") > 0);
    assert_true(s_real(lead, "annual_revenue") > 0);
    assert_true(s_in(s_str(lead, "industry"), s_allowed_industries, COUNT(s_allowed_industries)));
    const char *country = s_str(lead, "country");
    assert_int_equal(strlen(country), 2);
    assert_true(isupper((unsigned char)country[0]) && isupper((unsigned char)country[1]));
    static const char *const filled[] = {
        "first_name", "last_name", "phone", "company", "title", "region", "city", "source",
    };
    for (size_t i = 0; i < COUNT(filled); i++)
        assert_true(strlen(s_str(lead, filled[i])) > 0);
    s_str(lead, "campaign"); /* a string, often empty */
    assert_true(strlen(s_str(lead, "language")) >= 2);

    /* first.last@domain, lower case, from the lead's own names */
    char expected[128];
    snprintf(expected, sizeof expected, "%s.%s", s_str(lead, "first_name"),
             s_str(lead, "last_name"));
    for (char *c = expected; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    const char *email = s_str(lead, "email");
    assert_int_equal(strncmp(email, expected, strlen(expected)), 0);
    const char *at = strchr(email, '@');
    assert_non_null(at);
    assert_null(strchr(at + 1, '@'));
    assert_non_null(strchr(at + 1, '.'));

    const char *phone = s_str(lead, "phone");
    assert_int_equal(phone[0], '+');
    size_t digits = strlen(phone + 1);
    assert_true(digits >= 8 && digits <= 15);
    for (const char *c = phone + 1; *c; c++)
        assert_true(isdigit((unsigned char)*c));
}

/* Every event has its fields with the right JSON types; ids are unique;
 * activities name earlier leads of the last GEN_RECENT_LEADS; a lead's
 * funnel runs in order and keeps one rep. */
static void test_events_are_valid(void **state)
{
    (void)state;
    gen_t *gen = gen_new(7);
    json_t *event_ids = json_object(), *activity_ids = json_object();
    json_t *stage_by_lead = json_object(), *rep_by_lead = json_object();
    long leads = 0, activities = 0, closed = 0;
    for (int i = 0; i < 30000; i++) {
        int64_t now_ms = T0_MS + i * 250;
        /* the calibrated ratio, so funnels run to their end and the ring wraps */
        json_t *event = gen_next(gen, now_ms, gen_calibrated_activity_ratio());
        assert_non_null(event);
        const char *event_id = s_str(event, "event_id");
        s_check_hex32(event_id);
        assert_null(json_object_get(event_ids, event_id));
        json_object_set_new(event_ids, event_id, json_true());
        const char *kind = s_str(event, "kind");
        const char *lead_id = s_str(event, "lead_id");
        if (strcmp(kind, "lead") == 0) {
            s_check_lead(event, now_ms);
            assert_null(json_object_get(stage_by_lead, lead_id)); /* unique */
            assert_int_equal(s_lead_number(lead_id), ++leads);
            json_object_set_new(stage_by_lead, lead_id, json_integer(0));
            json_decref(event);
            continue;
        }
        assert_string_equal(kind, "activity");
        activities++;
        const char *activity_id = s_str(event, "activity_id");
        assert_null(json_object_get(activity_ids, activity_id));
        json_object_set_new(activity_ids, activity_id, json_true());
        assert_int_equal(s_int(event, "occurred_at_ms"), now_ms);
        assert_true(strlen(s_str(event, "channel")) > 0);
        const char *type = s_str(event, "type");
        assert_true(s_in(type, s_allowed_types, COUNT(s_allowed_types)));
        json_t *stage = json_object_get(stage_by_lead, lead_id);
        assert_non_null(stage); /* a lead generated earlier */
        assert_true(leads - s_lead_number(lead_id) < GEN_RECENT_LEADS);

        size_t optional = 0;
        if (json_object_get(event, "rep_id")) {
            const char *rep = s_str(event, "rep_id");
            assert_int_equal(strncmp(rep, "rep-", 4), 0);
            json_t *owner = json_object_get(rep_by_lead, lead_id);
            if (owner)
                assert_string_equal(json_string_value(owner), rep);
            else
                json_object_set_new(rep_by_lead, lead_id, json_string(rep));
            optional++;
        }
        if (json_object_get(event, "value")) {
            assert_true(s_real(event, "value") > 0);
            optional++;
        }
        if (json_object_get(event, "outcome")) {
            s_str(event, "outcome");
            optional++;
        }
        assert_int_equal(json_object_size(event), 7 + optional);

        json_int_t at = json_integer_value(stage), next = -1;
        if (strcmp(type, "opportunity_created") == 0)
            next = at == 0 ? 1 : -2;
        else if (strcmp(type, "proposal_sent") == 0)
            next = at == 1 ? 2 : -2;
        else if (strcmp(type, "deal_won") == 0 || strcmp(type, "deal_lost") == 0)
            next = at == 2 ? 3 : -2;
        assert_int_not_equal(next, -2); /* a funnel step out of order */
        if (next >= 0) {
            assert_non_null(json_object_get(event, "rep_id"));
            json_object_set_new(stage_by_lead, lead_id, json_integer(next));
            closed += next == 3;
        }
        if (strcmp(type, "deal_won") == 0) {
            assert_string_equal(s_str(event, "outcome"), "won");
            s_real(event, "value");
        }
        json_decref(event);
    }
    assert_true(leads > 3000 && activities > 20000 && closed > 100);
    json_decref(event_ids);
    json_decref(activity_ids);
    json_decref(stage_by_lead);
    json_decref(rep_by_lead);
    gen_destroy(&gen);
}

static double s_share(const json_t *counts, const char *key, long total)
{
    return (double)json_integer_value(json_object_get(counts, key)) / (double)total;
}

static void s_count(json_t *counts, const char *key)
{
    json_t *value = json_object_get(counts, key);
    json_object_set_new(counts, key, json_integer(value ? json_integer_value(value) + 1 : 1));
}

/* How far a share may stray from EXPECTED over N draws: five standard
 * errors, which a fixed seed never reaches by chance yet a missing or
 * doubled table row of even 1% exceeds. */
static double s_tolerance(double expected, long n)
{
    return 5.0 * sqrt(expected * (1.0 - expected) / (double)n) + 0.001;
}

/* Over 20,000 events the mix is that of the tables, within a few points. */
static void test_stream_matches_calibration(void **state)
{
    (void)state;
    gen_t *gen = gen_new(2024);
    json_t *sources = json_object(), *types = json_object();
    long leads = 0, activities = 0, zones[3] = {0}, free_mail = 0, recent = 0, won = 0, lost = 0;
    for (int i = 0; i < 20000; i++) {
        json_t *event = gen_next(gen, T0_MS + i * 1000, 0.6);
        if (strcmp(s_str(event, "kind"), "lead") == 0) {
            leads++;
            s_count(sources, s_str(event, "source"));
            const char *country = s_str(event, "country");
            for (size_t c = 0; c < COUNT(s_countries); c++)
                if (strcmp(s_countries[c].code, country) == 0)
                    zones[s_countries[c].zone]++;
            const char *domain = strchr(s_str(event, "email"), '@') + 1;
            for (size_t d = 0; d < COUNT(s_free_mail_domains); d++)
                free_mail += strcmp(domain, s_free_mail_domains[d].name) == 0;
        } else {
            activities++;
            const char *type = s_str(event, "type");
            s_count(types, type);
            recent += leads - s_lead_number(s_str(event, "lead_id")) < GEN_RECENT_LEADS / 8;
            won += strcmp(type, "deal_won") == 0;
            lost += strcmp(type, "deal_lost") == 0;
        }
        json_decref(event);
    }
    assert_int_equal(leads + activities, 20000);
    assert_true(fabs((double)activities / 20000 - 0.6) < 0.02);

    uint64_t total = 0;
    for (size_t i = 0; i < COUNT(s_sources); i++)
        total += s_sources[i].weight;
    for (size_t i = 0; i < COUNT(s_sources); i++) {
        double expected = (double)s_sources[i].weight / (double)total;
        double seen = s_share(sources, s_sources[i].name, leads);
        if (fabs(seen - expected) >= s_tolerance(expected, leads))
            fail_msg("source %s: %.4f, table %.4f", s_sources[i].name, seen, expected);
    }

    total = 0;
    for (size_t i = 0; i < COUNT(s_activities); i++)
        total += s_activities[i].weight;
    for (size_t i = 0; i < COUNT(s_activities); i++) {
        uint64_t weight = 0; /* a type may have several rows (channels) */
        for (size_t j = 0; j < COUNT(s_activities); j++)
            if (strcmp(s_activities[j].type, s_activities[i].type) == 0)
                weight += s_activities[j].weight;
        double expected = (double)weight / (double)total;
        double seen = s_share(types, s_activities[i].type, activities);
        if (fabs(seen - expected) >= s_tolerance(expected, activities))
            fail_msg("type %s: %.4f, table %.4f", s_activities[i].type, seen, expected);
    }

    assert_true(fabs((double)zones[GEN_ZONE_EMEA] / leads - 0.40) < 0.03);
    assert_true(fabs((double)zones[GEN_ZONE_AMERICAS] / leads - 0.40) < 0.03);
    assert_true(fabs((double)zones[GEN_ZONE_OTHER] / leads - 0.20) < 0.03);
    assert_true(fabs((double)free_mail / leads - s_free_mail_share) < 0.03);
    /* Maven's won share of closed deals, 4238 / 6711 */
    assert_true(won + lost > 100);
    assert_true(fabs((double)won / (double)(won + lost) - 0.6315) < 0.06);
    /* engagement clusters on the newest leads */
    assert_true((double)recent / (double)activities > 0.4);
    json_decref(sources);
    json_decref(types);
    gen_destroy(&gen);
}

static void test_arrival_pattern(void **state)
{
    (void)state;
    double hours = 0, days = 0, week = 0;
    for (int h = 0; h < 24; h++)
        hours += gen_hour_weight(h);
    for (int d = 0; d < 7; d++)
        days += gen_weekday_weight(d);
    assert_true(fabs(hours / 24 - 1.0) < 1e-9);
    assert_true(fabs(days / 7 - 1.0) < 1e-9);
    for (int h = 0; h < 24 * 7; h++)
        week += gen_rate_factor(T0_MS + (int64_t)h * 3600000, 0);
    assert_true(fabs(week / (24 * 7) - 1.0) < 1e-9);
    /* the measured shape: an evening peak, a night trough, quieter Sundays */
    assert_true(gen_hour_weight(21) > 1.5 && gen_hour_weight(4) < 0.2);
    assert_true(gen_weekday_weight(6) < gen_weekday_weight(1));
    assert_true(gen_hour_weight(-1) == 0 && gen_hour_weight(24) == 0 && gen_weekday_weight(7) == 0);
    /* 1970-01-01 was a Thursday; -1 ms is Wednesday 23:59; +05:30 is India */
    assert_true(gen_rate_factor(0, 0) == gen_hour_weight(0) * gen_weekday_weight(3));
    assert_true(gen_rate_factor(-1, 0) == gen_hour_weight(23) * gen_weekday_weight(2));
    assert_true(gen_rate_factor(0, 330) == gen_hour_weight(5) * gen_weekday_weight(3));
    /* 2026-01-01T20:00Z is a Thursday */
    assert_true(gen_rate_factor(T0_MS + 20 * INT64_C(3600000), 0) ==
                gen_hour_weight(20) * gen_weekday_weight(3));
}

static void test_activity_ratio_bounds(void **state)
{
    (void)state;
    double calibrated = gen_calibrated_activity_ratio();
    assert_true(calibrated > 0.85 && calibrated < 0.89);

    gen_t *gen = gen_new(3);
    for (int i = 0; i < 200; i++) { /* 0 and NaN: leads only */
        json_t *event = gen_next(gen, T0_MS, i % 2 ? 0.0 : NAN);
        assert_string_equal(s_str(event, "kind"), "lead");
        json_decref(event);
    }
    gen_destroy(&gen);

    gen = gen_new(4);
    int activities = 0;
    for (int i = 0; i < 1000; i++) { /* above 1: clamped, the first event still a lead */
        json_t *event = gen_next(gen, T0_MS, 5.0);
        if (i == 0)
            assert_string_equal(s_str(event, "kind"), "lead");
        activities += strcmp(s_str(event, "kind"), "activity") == 0;
        json_decref(event);
    }
    assert_true(activities >= 990);
    gen_destroy(&gen);
}

static void test_destroy_is_idempotent(void **state)
{
    (void)state;
    gen_t *gen = gen_new(0);
    assert_non_null(gen);
    gen_destroy(&gen);
    assert_null(gen);
    gen_destroy(&gen);
    gen_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_seed_same_stream),
        cmocka_unit_test(test_different_seeds_differ),
        cmocka_unit_test(test_events_are_valid),
        cmocka_unit_test(test_stream_matches_calibration),
        cmocka_unit_test(test_arrival_pattern),
        cmocka_unit_test(test_activity_ratio_bounds),
        cmocka_unit_test(test_destroy_is_idempotent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
