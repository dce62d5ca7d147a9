/* test_import_map.c — mapping files: errors name FILE:LINE and the key;
 * rows map through renames, defaults, types and date formats into the JSON
 * ingest takes; event ids are stable, so re-importing is a no-op; the
 * mappings shipped in deploy/mappings/ load and bind to the real headers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "import_map.h"

#define COUNT(array) (sizeof(array) / sizeof((array)[0]))

static import_map_t *s_parse(const char *yaml, err_t *err)
{
    return import_map_parse(yaml, strlen(yaml), "map.yaml", err);
}

static void s_expect_load_error(const char *yaml, const char *message)
{
    err_t err = {0};
    import_map_t *map = s_parse(yaml, &err);
    if (map)
        fail_msg("expected \"%s\", but the mapping loaded", message);
    assert_int_equal(err.code, ERR_CONFIG);
    assert_string_equal(err.msg, message);
}

static void test_load_errors_name_file_line_and_key(void **state)
{
    (void)state;
    s_expect_load_error("source_system: x\nid: a\n", "map.yaml:1: kind: required");
    s_expect_load_error("kind: deal\nsource_system: x\nid: a\n",
                        "map.yaml:1: kind: expected lead or activity");
    s_expect_load_error("kind: lead\nsource_system: x\nid: a\ncolour: red\n",
                        "map.yaml:4: colour: unknown key (known: kind, source_system, id, time, "
                        "fields)");
    s_expect_load_error("kind: lead\nsource_system: x\nid: a\nfields:\n  colour: c\n",
                        "map.yaml:5: fields.colour: not a field of a Lead (a proto field name or "
                        "attributes.KEY)");
    s_expect_load_error("kind: lead\nsource_system: x\nid: a\nfields:\n"
                        "  email: e\n  company_size: {column: n, type: string}\n",
                        "map.yaml:6: fields.company_size: this field is of type integer, not "
                        "string");
    s_expect_load_error("kind: lead\nsource_system: x\nid: a\nfields:\n"
                        "  source:\n    column: s\n    rename: [a, b]\n",
                        "map.yaml:7: fields.source.rename: expected a mapping of value: new value");
    s_expect_load_error("kind: lead\nsource_system: x\nid: a\nfields:\n"
                        "  source: {column: s, casing: lower}\n",
                        "map.yaml:5: fields.source.casing: unknown key (known: column, value, "
                        "rename, other, default, type, format, case, slug, prefix, suffix, "
                        "required)");
    s_expect_load_error("kind: lead\nsource_system: x\nid: a\nfields:\n"
                        "  city: {column: c, value: Paris}\n",
                        "map.yaml:5: fields.city: needs either column or value");
    s_expect_load_error("kind: lead\nsource_system: x\nid: a\ntime: {column: t, format: \"%d\"}\n"
                        "fields:\n  created_at: c\n",
                        "map.yaml:6: fields.created_at: created_at_ms is mapped twice");
    s_expect_load_error("kind: lead\nsource_system: x\nid: a\ntime: {column: t, format: dmy}\n",
                        "map.yaml:4: time: format: expected iso, unix, unix_ms or a strptime "
                        "format like %Y-%m-%d");
    s_expect_load_error("kind: activity\nsource_system: x\nid: a\nfields:\n  lead_id: l\n",
                        "map.yaml:1: fields: an activity needs type (a column or a value)");
    s_expect_load_error("kind: lead\nsource_system: two words\nid: a\n",
                        "map.yaml:2: source_system: expected 1..64 characters, no spaces");
    s_expect_load_error("kind: lead\nsource_system: x\nid: {value: 7}\n",
                        "map.yaml:3: id: must name a column, not a value");
    s_expect_load_error("kind: lead\nsource_system: x\nid: a\nfields:\n  attributes.flag: "
                        "{column: f, slug: maybe}\n",
                        "map.yaml:5: fields.attributes.flag.slug: expected true or false");

    err_t err = {0};
    assert_null(s_parse("kind: lead\n  bad: [\n", &err));
    assert_int_equal(err.code, ERR_CONFIG);
    assert_non_null(strstr(err.msg, "map.yaml:"));
    assert_null(import_map_load("/nonexistent/map.yaml", &err));
    assert_int_equal(err.code, ERR_IO);
}

static const char s_lead_map[] =
    "kind: lead\n"
    "source_system: crm\n"
    "id: Id\n"
    "time: {column: Created, format: \"%d/%m/%Y %H:%M\"}\n"
    "fields:\n"
    "  lead_id: {column: Id, prefix: \"crm-\", case: lower}\n"
    "  email: Email\n"
    "  company: [Company, Account]\n"
    "  company_size: Employees\n"
    "  annual_revenue: {column: Revenue, default: \"0\"}\n"
    "  country:\n"
    "    column: Country\n"
    "    rename: {Germany: DE, France: FR, Nowhere: \"\"}\n"
    "  source: {column: Source, slug: true, other: other,\n"
    "           rename: {Web Form: web form, Google Ads: paid search}}\n"
    "  attributes.vip: {column: Vip, type: boolean}\n"
    "  attributes.visits: {column: Visits, type: integer}\n"
    "  attributes.tier: {value: gold}\n";

static const char *const s_header[] = {"Id",        "Email",   "Company", "Account",
                                       "Employees", "Revenue", "Country", "Source",
                                       "Created",   "Vip",     " Visits "};

static import_map_t *s_bound_lead_map(void)
{
    err_t err = {0};
    import_map_t *map = s_parse(s_lead_map, &err);
    if (!map)
        fail_msg("%s", err.msg);
    if (import_map_bind(map, s_header, COUNT(s_header), &err) < 0)
        fail_msg("%s", err.msg);
    assert_int_equal(import_map_kind(map), IMPORT_LEAD);
    return map;
}

/* Maps ROW; fails the test with the reason when it does not map. */
static json_t *s_row(const import_map_t *map, const char *const *row, int64_t *time_ms)
{
    err_t err = {0};
    json_t *obj = import_map_row(map, row, COUNT(s_header), time_ms, &err);
    if (!obj)
        fail_msg("row did not map: %s", err.msg);
    return obj;
}

static const char *s_str(const json_t *obj, const char *path)
{
    const char *dot = strchr(path, '.');
    if (dot)
        return json_string_value(json_object_get(json_object_get(obj, "attributes"), dot + 1));
    return json_string_value(json_object_get(obj, path));
}

static void test_row_renames_types_and_defaults(void **state)
{
    (void)state;
    import_map_t *map = s_bound_lead_map();
    const char *const row[] = {
        "A-17",     " ann@acme.example ", "",    "Acme AG", "250.0", "", "Germany",
        "Web Form", "02/05/2024 09:30",   "Yes", "12"};
    int64_t time_ms;
    json_t *obj = s_row(map, row, &time_ms);
    assert_string_equal(s_str(obj, "kind"), "lead");
    assert_string_equal(s_str(obj, "lead_id"), "crm-a-17");
    assert_string_equal(s_str(obj, "source_id"), "A-17"); /* from id, untouched */
    assert_string_equal(s_str(obj, "source_system"), "crm");
    assert_string_equal(s_str(obj, "email"), "ann@acme.example"); /* trimmed */
    assert_string_equal(s_str(obj, "company"), "Acme AG");        /* the second column */
    assert_true(json_is_integer(json_object_get(obj, "company_size")));
    assert_int_equal(json_integer_value(json_object_get(obj, "company_size")), 250);
    assert_true(json_is_real(json_object_get(obj, "annual_revenue"))); /* the default */
    assert_string_equal(s_str(obj, "country"), "DE");
    assert_string_equal(s_str(obj, "source"), "web-form"); /* renamed, then slugged */
    assert_string_equal(s_str(obj, "attributes.vip"), "true");
    assert_string_equal(s_str(obj, "attributes.visits"), "12");
    assert_string_equal(s_str(obj, "attributes.tier"), "gold");
    assert_int_equal(time_ms, INT64_C(1714642200000)); /* 2024-05-02T09:30:00Z */
    assert_int_equal(json_integer_value(json_object_get(obj, "created_at_ms")), time_ms);
    json_decref(obj);

    /* A value the renames lack takes `other`; a rename to "" drops the field. */
    const char *const row2[] = {"B-1", "", "Beta", "", "", "1e3", "Nowhere", "Fax", "", "", ""};
    obj = s_row(map, row2, &time_ms);
    assert_string_equal(s_str(obj, "source"), "other");
    assert_null(json_object_get(obj, "country"));
    assert_null(json_object_get(obj, "email"));
    assert_null(json_object_get(obj, "company_size"));
    assert_true(json_number_value(json_object_get(obj, "annual_revenue")) == 1000.0);
    assert_int_equal(time_ms, -1); /* no time */
    json_decref(obj);
    import_map_destroy(&map);
    assert_null(map);
}

static void s_expect_row_error(const import_map_t *map, const char *const *row, const char *message)
{
    err_t err = {0};
    int64_t time_ms;
    json_t *obj = import_map_row(map, row, COUNT(s_header), &time_ms, &err);
    if (obj)
        fail_msg("expected \"%s\", but the row mapped", message);
    assert_int_equal(err.code, ERR_INPUT);
    assert_string_equal(err.msg, message);
}

static void test_bad_rows_say_which_field_and_column(void **state)
{
    (void)state;
    import_map_t *map = s_bound_lead_map();
    const char *const many[] = {"C-1", "", "Co", "", "many", "", "", "", "", "", ""};
    s_expect_row_error(map, many,
                       "fields.company_size (column Employees): 'many' is not an integer");
    const char *const feb30[] = {"C-1", "", "Co", "", "", "", "", "", "30/02/2024 10:00", "", ""};
    s_expect_row_error(map, feb30,
                       "time (column Created): '30/02/2024 10:00' is not a time of format "
                       "%d/%m/%Y %H:%M");
    const char *const vip[] = {"C-1", "", "Co", "", "", "", "", "", "", "perhaps", ""};
    s_expect_row_error(map, vip,
                       "fields.attributes.vip (column Vip): 'perhaps' is not true or false");
    const char *const no_id[] = {"  ", "", "Co", "", "", "", "", "", "", "", ""};
    s_expect_row_error(map, no_id, "id (column Id) is empty");
    import_map_destroy(&map);
}

static void test_bind_names_the_missing_column(void **state)
{
    (void)state;
    err_t err = {0};
    import_map_t *map = s_parse(s_lead_map, &err);
    assert_non_null(map);
    const char *const header[] = {"Id", "Email"};
    assert_int_equal(import_map_bind(map, header, 2, &err), -1);
    assert_int_equal(err.code, ERR_CONFIG);
    assert_string_equal(err.msg, "map.yaml:4: time: column 'Created' is not in the header (Id, "
                                 "Email)");
    import_map_destroy(&map);
}

static void test_time_formats(void **state)
{
    (void)state;
    static const struct {
        const char *format, *text;
        int64_t ms;
    } cases[] = {
        {"iso", "2018-02-01", INT64_C(1517443200000)},
        {"iso", "2024-05-01T12:00:00+02:00", INT64_C(1714557600000)},
        {"%Y-%m-%d %H:%M:%S", "2018-02-26 19:58:54", INT64_C(1519675134000)},
        {"%Y-%m-%d %H:%M:%S %z", "2024-05-01 12:00:00 +0200", INT64_C(1714557600000)},
        {"%m/%d/%Y", "12/31/2017", INT64_C(1514678400000)},
        {"unix", "1714557600", INT64_C(1714557600000)},
        {"unix_ms", "1714557600123", INT64_C(1714557600123)},
        {"%Y-%m-%d", "2018-13-01", -1},
        {"%Y-%m-%d", "2018-02-01 extra", -1},
        {"iso", "yesterday", -1},
        {"unix", "-5", -1},
    };
    for (size_t i = 0; i < COUNT(cases); i++) {
        char yaml[256];
        snprintf(yaml, sizeof yaml,
                 "kind: activity\nsource_system: s\nid: id\ntime: {column: t, format: \"%s\"}\n"
                 "fields:\n  lead_id: id\n  type: {value: call}\n",
                 cases[i].format);
        err_t err = {0};
        import_map_t *map = s_parse(yaml, &err);
        if (!map)
            fail_msg("%s", err.msg);
        const char *const header[] = {"id", "t"};
        assert_int_equal(import_map_bind(map, header, 2, &err), 0);
        const char *const row[] = {"x1", cases[i].text};
        int64_t time_ms = 0;
        json_t *obj = import_map_row(map, row, 2, &time_ms, &err);
        if (cases[i].ms < 0) {
            assert_null(obj);
            assert_non_null(strstr(err.msg, "is not a time"));
        } else {
            if (!obj)
                fail_msg("%s %s: %s", cases[i].format, cases[i].text, err.msg);
            assert_int_equal(time_ms, cases[i].ms);
            assert_string_equal(s_str(obj, "activity_id"), "x1");
            json_decref(obj);
        }
        import_map_destroy(&map);
    }
}

static void test_event_ids_are_stable_and_distinct(void **state)
{
    (void)state;
    char a[IMPORT_EVENT_ID_SIZE], b[IMPORT_EVENT_ID_SIZE];
    /* A fixed value: the id must not change between machines or releases,
     * or re-importing an old file would apply it twice. */
    import_map_event_id("olist", IMPORT_LEAD, "dac32acd4db4c29c230538b72f8dd87d", NULL, a);
    assert_string_equal(a, "imp-9cc1a073930da98ff70c4ccfde91ab3d");
    import_map_event_id("olist", IMPORT_LEAD, "dac32acd4db4c29c230538b72f8dd87d", "", b);
    assert_string_equal(a, b);
    import_map_event_id("olist", IMPORT_ACTIVITY, "dac32acd4db4c29c230538b72f8dd87d", "", b);
    assert_string_not_equal(a, b);
    import_map_event_id("olist", IMPORT_ACTIVITY, "id", "deal_won", a);
    import_map_event_id("olist", IMPORT_ACTIVITY, "id", "deal_lost", b);
    assert_string_not_equal(a, b);
    import_map_event_id("ab", IMPORT_LEAD, "c", NULL, a);
    import_map_event_id("a", IMPORT_LEAD, "bc", NULL, b);
    assert_string_not_equal(a, b);

    /* The same row maps to the same event id every time. */
    import_map_t *map = s_bound_lead_map();
    const char *const row[] = {"A-17", "", "Acme", "", "", "", "", "", "", "", ""};
    int64_t t;
    json_t *first = s_row(map, row, &t), *again = s_row(map, row, &t);
    assert_string_equal(s_str(first, "event_id"), s_str(again, "event_id"));
    import_map_event_id("crm", IMPORT_LEAD, "A-17", NULL, a);
    assert_string_equal(s_str(first, "event_id"), a);
    json_decref(first);
    json_decref(again);
    import_map_destroy(&map);
}

/* The shipped mappings, bound to the real files' headers. */
static void s_check_shipped(const char *name, const char *const *header, size_t count,
                            const char *const *row, const char *key, const char *want)
{
    const char *root = getenv("LEADOPS_TEST_SOURCE_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/deploy/mappings/%s", root ? root : ".", name);
    err_t err = {0};
    import_map_t *map = import_map_load(path, &err);
    if (!map || import_map_bind(map, header, count, &err) < 0)
        fail_msg("%s", err.msg);
    int64_t time_ms;
    json_t *obj = import_map_row(map, row, count, &time_ms, &err);
    if (!obj)
        fail_msg("%s: %s", name, err.msg);
    assert_true(time_ms > 0);
    const char *got = s_str(obj, key);
    if (!got || strcmp(got, want) != 0)
        fail_msg("%s: %s is '%s', expected '%s'", name, key, got ? got : "(none)", want);
    json_decref(obj);
    import_map_destroy(&map);
}

static void test_shipped_mappings(void **state)
{
    (void)state;
    const char *const mql[] = {"mql_id", "first_contact_date", "landing_page_id", "origin"};
    const char *const mql_row[] = {"dac32acd", "2018-02-01", "88740e65", "unknown"};
    s_check_shipped("olist_mql.yaml", mql, 4, mql_row, "lead_id", "olist-dac32acd");
    const char *const deals[] = {"mql_id",
                                 "seller_id",
                                 "sdr_id",
                                 "sr_id",
                                 "won_date",
                                 "business_segment",
                                 "lead_type",
                                 "lead_behaviour_profile",
                                 "has_company",
                                 "has_gtin",
                                 "average_stock",
                                 "business_type",
                                 "declared_product_catalog_size",
                                 "declared_monthly_revenue"};
    const char *const deal_row[] = {
        "5420aad7", "2c43fb51",      "a8387c01", "4ef15afb", "2018-02-26 19:58:54",
        "pet",      "online_medium", "cat",      "",         "",
        "",         "reseller",      "",         ""};
    s_check_shipped("olist_closed_deals.yaml", deals, 14, deal_row, "type", "deal_won");
    const char *const pipeline[] = {"opportunity_id", "sales_agent", "product",    "account",
                                    "deal_stage",     "engage_date", "close_date", "close_value"};
    const char *const opp_row[] = {"1C1I7A6R", "Moses Frase", "GTX Plus Basic", "Acme Corporation",
                                   "Lost",     "2016-10-20",  "2017-03-01",     "0"};
    s_check_shipped("maven_pipeline.yaml", pipeline, 8, opp_row, "lead_id",
                    "maven-acme-corporation");
    s_check_shipped("maven_pipeline.yaml", pipeline, 8, opp_row, "type", "deal_lost");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_errors_name_file_line_and_key),
        cmocka_unit_test(test_row_renames_types_and_defaults),
        cmocka_unit_test(test_bad_rows_say_which_field_and_column),
        cmocka_unit_test(test_bind_names_the_missing_column),
        cmocka_unit_test(test_time_formats),
        cmocka_unit_test(test_event_ids_are_stable_and_distinct),
        cmocka_unit_test(test_shipped_mappings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
