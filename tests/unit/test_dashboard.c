/* test_dashboard.c — the dashboard's embedded assets and its event framing:
 * what the binary serves at each path, that every open path is an asset
 * (nothing else may skip the token), that the page names the figures and
 * charts the browser test reads, and that a snapshot is one SSE event. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dashboard.h"

static void test_assets_by_path(void **state)
{
    (void)state;
    const dashboard_asset_t *page = dashboard_asset("/");
    assert_non_null(page);
    assert_ptr_equal(dashboard_asset("/dashboard")->body, page->body);
    assert_non_null(strstr(page->content_type, "text/html"));
    assert_non_null(strstr(page->body, "src=\"/dashboard/app.js\""));
    assert_non_null(strstr(page->body, "href=\"/dashboard/style.css\""));
    assert_null(strstr(page->body, "http://"));
    assert_null(strstr(page->body, "https://"));
    for (const char *id = "stat-assigned\0stat-waiting\0stat-ingested\0chart-flow\0chart-queues\0"
                          "chart-reps\0chart-stl\0chart-leaders\0chart-plan\0conn-state\0";
         *id; id += strlen(id) + 1) {
        char attribute[64];
        snprintf(attribute, sizeof attribute, "id=\"%s\"", id);
        if (!strstr(page->body, attribute))
            fail_msg("the page has no %s", attribute);
    }
    const dashboard_asset_t *script = dashboard_asset("/dashboard/app.js");
    assert_non_null(script);
    assert_non_null(strstr(script->content_type, "javascript"));
    assert_non_null(strstr(script->body, "'/v1/stream'"));
    assert_non_null(strstr(script->body, "'/v1/snapshot'"));
    assert_non_null(strstr(script->body, "Authorization"));
    assert_non_null(strstr(dashboard_asset("/dashboard/style.css")->content_type, "text/css"));
    assert_null(dashboard_asset("/dashboard/"));
    assert_null(dashboard_asset("/v1/summary"));
    assert_null(dashboard_asset("/dashboard/app.js.map"));
    for (size_t i = 0; i < DASHBOARD_OPEN_PATH_COUNT; i++)
        if (!dashboard_asset(dashboard_open_paths[i]))
            fail_msg("open path %s is not an asset", dashboard_open_paths[i]);
}

static void test_event_is_one_sse_block(void **state)
{
    (void)state;
    json_t *data = json_pack("{s:s, s:[i, i]}", "text", "two\nlines", "n", 1, 2);
    size_t len = 0;
    char *event = dashboard_event("snapshot", data, &len);
    assert_non_null(event);
    assert_int_equal(strlen(event), len);
    assert_string_equal(event, "event: snapshot\ndata: {\"text\":\"two\\nlines\",\"n\":[1,2]}\n\n");
    free(event);
    json_decref(data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_assets_by_path),
        cmocka_unit_test(test_event_is_one_sse_block),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
