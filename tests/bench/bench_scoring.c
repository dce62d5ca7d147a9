/* bench_scoring — what one score update costs on one core: the fit rules,
 * the grade and the activity points of the configuration, on a realistic
 * stream of leads and activities from the generator. Prints updates per
 * second and nanoseconds per update. A program that prints figures, not a
 * timed test.
 *
 * With --model FILE (from leadopsctl train) it also measures the model's
 * part: encoding a lead's fields and the prediction with its per-feature
 * contributions. Model columns are matched to lead fields by name; the
 * others count as missing, which costs the same work.
 *
 * usage: bench_scoring [--config FILE] [--model FILE] [--updates N]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "envelope.h"
#include "gen.h"
#include "json_codec.h"
#include "lead.h"
#include "model.h"
#include "rules_score.h"

#define POOL 4096 /* distinct leads and activities, cycled: the bench measures scoring, not gen */

int main(int argc, char **argv)
{
    const char *path = "deploy/leadops.yaml", *model_path = NULL;
    long updates = 2000000;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            path = argv[++i];
        else if (strcmp(argv[i], "--model") == 0 && i + 1 < argc)
            model_path = argv[++i];
        else if (strcmp(argv[i], "--updates") == 0 && i + 1 < argc)
            updates = atol(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_scoring [--config FILE] [--model FILE] [--updates N]\n"
                            "Prints score updates per second on one core (fit rules, grade,\n"
                            "activity points) for the configuration's rules.\n");
            return strcmp(argv[i], "--help") == 0 ? 0 : 2;
        }
    }
    err_t err = {0};
    config_t *cfg = config_load(path, &err);
    if (!cfg) {
        fprintf(stderr, "bench_scoring: %s\n", err.msg);
        return 2;
    }
    gen_t *gen = gen_new(7);
    Leadops__Lead *leads[POOL];
    Leadops__Activity *activities[POOL];
    size_t lead_count = 0, activity_count = 0;
    while (lead_count < POOL || activity_count < POOL) {
        json_t *obj = gen_next(gen, 1700000000000LL, 0.5);
        const char *kind = json_string_value(json_object_get(obj, "kind"));
        if (strcmp(kind, "lead") == 0 && lead_count < POOL) {
            leads[lead_count] = json_to_lead(obj, NULL);
            lead_normalize(leads[lead_count++]);
        } else if (strcmp(kind, "activity") == 0 && activity_count < POOL) {
            activities[activity_count++] = json_to_activity(obj, NULL);
        }
        json_decref(obj);
    }

    /* Leads: fit rules + grade (the reasons only when asked, as scoring does
     * once per lead event). Activities: points by type. */
    double sink = 0;
    int64_t start = clock_mono_us();
    for (long i = 0; i < updates; i++) {
        const Leadops__Lead *lead = leads[i % POOL];
        double fit = rules_fit(cfg, lead, NULL);
        sink += fit + (double)rules_grade(cfg, fit)[0];
    }
    int64_t lead_us = clock_mono_us() - start;
    start = clock_mono_us();
    for (long i = 0; i < updates; i++)
        sink += rules_activity_points(cfg, activities[i % POOL]->type);
    int64_t activity_us = clock_mono_us() - start;
    start = clock_mono_us();
    long with_reasons = updates / 10;
    for (long i = 0; i < with_reasons; i++) {
        json_t *reasons = json_array();
        sink += rules_fit(cfg, leads[i % POOL], reasons);
        json_decref(reasons);
    }
    int64_t reasons_us = clock_mono_us() - start;

    printf("score updates on one core, %zu fit rules, %zu activity types with points:\n",
           cfg->fit_rule_count, cfg->activity_points_count);
    printf("  %-36s %12.0f /s  %8.0f ns each\n", "lead: fit rules + grade",
           updates / (lead_us / 1e6), lead_us * 1000.0 / updates);
    printf("  %-36s %12.0f /s  %8.0f ns each\n", "lead: fit rules with reasons (JSON)",
           with_reasons / (reasons_us / 1e6), reasons_us * 1000.0 / with_reasons);
    printf("  %-36s %12.0f /s  %8.0f ns each\n", "activity: points by type",
           updates / (activity_us / 1e6), activity_us * 1000.0 / updates);
    if (model_path) {
        model_t *model = model_load(model_path, &err);
        if (!model) {
            fprintf(stderr, "bench_scoring: %s\n", err.msg);
            return 2;
        }
        size_t columns = model_column_count(model), features = model_feature_count(model);
        const char **names = calloc(columns, sizeof *names);
        const char **values = calloc(columns, sizeof *values);
        double *contributions = calloc(features ? features : 1, sizeof *contributions);
        char(*buffers)[64] = calloc(columns, sizeof *buffers);
        for (size_t c = 0; c < columns; c++)
            names[c] = model_column_name(model, c);
        long predictions = updates / 4;
        start = clock_mono_us();
        for (long i = 0; i < predictions; i++) {
            const Leadops__Lead *lead = leads[i % POOL];
            double fit = rules_fit(cfg, lead, NULL);
            for (size_t c = 0; c < columns; c++) {
                const char *text = lead_field_text(lead, names[c], buffers[c], sizeof buffers[c]);
                values[c] = text ? text : "";
            }
            sink += fit + model_predict(model, names, values, columns, contributions);
        }
        int64_t model_us = clock_mono_us() - start;
        printf("  %-36s %12.0f /s  %8.0f ns each (%zu columns, %zu features)\n",
               "lead: fit rules + model, explained", predictions / (model_us / 1e6),
               model_us * 1000.0 / predictions, columns, features);
        free(buffers);
        free(contributions);
        free(values);
        free(names);
        model_destroy(&model);
    }
    printf("(checksum %g)\n", sink);

    for (size_t i = 0; i < POOL; i++) {
        leadops__lead__free_unpacked(leads[i], NULL);
        leadops__activity__free_unpacked(activities[i], NULL);
    }
    gen_destroy(&gen);
    config_destroy(&cfg);
    return 0;
}
