/* fuzz_csv.c — libFuzzer target for the CSV files `leadopsctl import` reads.
 *
 * The bytes are read as CSV twice, from a buffer and from a FILE
 * (fmemopen), with small limits so that the over-limit paths run: the two
 * readers must return the same records and errors, or the target aborts.
 * Every record of four fields then goes through a mapping that uses each
 * kind of conversion (rename, slug, integer, number, boolean, two time
 * formats), as import does with the rows of a file. The same bytes are
 * also read as a mapping file (import_map_parse), the other file import
 * takes; the corpus holds both kinds. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "import_map.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char s_mapping[] = "kind: lead\n"
                                "source_system: fuzz\n"
                                "id: a\n"
                                "time: {column: [b, c], format: \"%Y-%m-%d %H:%M:%S %z\"}\n"
                                "fields:\n"
                                "  lead_id: {column: a, slug: true, prefix: \"f-\"}\n"
                                "  company_size: {column: c, default: \"1\"}\n"
                                "  annual_revenue: d\n"
                                "  source: {column: b, rename: {x: \"\", y: paid}, other: o}\n"
                                "  attributes.flag: {column: d, type: boolean}\n"
                                "  attributes.at: {column: c, type: time, format: iso}\n"
                                "  attributes.n: {column: b, type: integer, case: upper}\n";

static import_map_t *s_map;

static void s_map_free(void)
{
    import_map_destroy(&s_map);
}

static const import_map_t *s_bound_map(void)
{
    if (!s_map) {
        err_t err = {0};
        static const char *const header[] = {"a", "b", "c", "d"};
        s_map = import_map_parse(s_mapping, sizeof s_mapping - 1, "fuzz.yaml", &err);
        if (!s_map || import_map_bind(s_map, header, 4, &err) < 0) {
            fprintf(stderr, "fuzz_csv: the mapping: %s\n", err.msg);
            abort();
        }
        atexit(s_map_free);
    }
    return s_map;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const import_map_t *map = s_bound_map();
    err_t map_err = {0};
    import_map_t *as_map = import_map_parse((const char *)data, size, "fuzz.yaml", &map_err);
    import_map_destroy(&as_map);
    csv_reader_t *from_buffer = csv_reader_new_buffer(data, size);
    FILE *file = size ? fmemopen((void *)data, size, "rb") : NULL;
    csv_reader_t *from_file = file ? csv_reader_new(file) : NULL;
    if (!from_buffer || (size && !from_file))
        abort();
    csv_reader_set_limits(from_buffer, 300, 2000);
    if (from_file)
        csv_reader_set_limits(from_file, 300, 2000);
    for (int records = 0; records < 10000; records++) {
        err_t err = {0}, file_err = {0};
        int rc = csv_read(from_buffer, &err);
        int file_rc = from_file ? csv_read(from_file, &file_err) : 0;
        if (rc != file_rc || strcmp(err.msg, file_err.msg) != 0)
            abort(); /* the two sources disagree */
        if (rc == 0 || (rc < 0 && err.code != ERR_INPUT))
            break;
        if (rc < 0)
            continue;
        size_t count, file_count;
        const char *const *cells = csv_fields(from_buffer, &count);
        const char *const *file_cells = csv_fields(from_file, &file_count);
        if (count != file_count || csv_record_line(from_buffer) != csv_record_line(from_file))
            abort();
        for (size_t i = 0; i < count; i++)
            if (strcmp(cells[i], file_cells[i]) != 0)
                abort();
        if (count == 4) {
            int64_t time_ms;
            json_t *obj = import_map_row(map, cells, count, &time_ms, &err);
            json_decref(obj);
        }
    }
    csv_reader_destroy(&from_buffer);
    csv_reader_destroy(&from_file);
    if (file)
        fclose(file);
    return 0;
}
