/* test_csv.c — the CSV reader on what real CRM exports contain: quoted
 * fields with commas, doubled quotes and line breaks, CRLF, a byte order
 * mark, ragged rows; and on broken input: every error names its line and
 * reading goes on with the next record. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"

/* Reads the next record of READER and checks it is LINE with the COUNT
 * fields given. */
static void s_expect(csv_reader_t *reader, uint64_t line, size_t count, ...)
{
    err_t err = {0};
    int rc = csv_read(reader, &err);
    if (rc != 1)
        fail_msg("expected a record at line %llu, got %d (%s)", (unsigned long long)line, rc,
                 err.msg);
    assert_int_equal(csv_record_line(reader), line);
    size_t n;
    const char *const *fields = csv_fields(reader, &n);
    assert_int_equal(n, count);
    va_list ap;
    va_start(ap, count);
    for (size_t i = 0; i < count; i++)
        assert_string_equal(fields[i], va_arg(ap, const char *));
    va_end(ap);
}

static void s_expect_error(csv_reader_t *reader, const char *message)
{
    err_t err = {0};
    assert_int_equal(csv_read(reader, &err), -1);
    assert_int_equal(err.code, ERR_INPUT);
    assert_string_equal(err.msg, message);
}

static void s_expect_end(csv_reader_t *reader)
{
    err_t err = {0};
    assert_int_equal(csv_read(reader, &err), 0);
    assert_int_equal(csv_read(reader, &err), 0); /* and stays at the end */
}

static csv_reader_t *s_reader(const char *text)
{
    csv_reader_t *reader = csv_reader_new_buffer(text, strlen(text));
    assert_non_null(reader);
    return reader;
}

static void test_plain_and_quoted(void **state)
{
    (void)state;
    csv_reader_t *reader = s_reader("id,name,note\n"
                                    "1,\"Acme, Inc.\",\"said \"\"hi\"\"\"\n"
                                    "2,\"\",plain \"quote\" inside\n"
                                    "3,,");
    s_expect(reader, 1, 3, "id", "name", "note");
    s_expect(reader, 2, 3, "1", "Acme, Inc.", "said \"hi\"");
    s_expect(reader, 3, 3, "2", "", "plain \"quote\" inside");
    s_expect(reader, 4, 3, "3", "", ""); /* the last line has no line end */
    s_expect_end(reader);
    csv_reader_destroy(&reader);
    csv_reader_destroy(&reader); /* idempotent */
    assert_null(reader);
}

static void test_crlf_bom_and_empty_lines(void **state)
{
    (void)state;
    csv_reader_t *reader = s_reader("\xEF\xBB\xBFid,city\r\n"
                                    "1,Berlin\r\n"
                                    "\r\n"
                                    "\n"
                                    "2,Paris\r"
                                    "3,\"Rome\"\r\n");
    s_expect(reader, 1, 2, "id", "city"); /* no BOM in the first name */
    s_expect(reader, 2, 2, "1", "Berlin");
    s_expect(reader, 5, 2, "2", "Paris"); /* empty lines skipped, counted */
    s_expect(reader, 6, 2, "3", "Rome");  /* a lone CR ends a line too */
    s_expect_end(reader);
    csv_reader_destroy(&reader);
}

static void test_embedded_newlines_keep_line_numbers(void **state)
{
    (void)state;
    csv_reader_t *reader = s_reader("id,note\n"
                                    "1,\"first\nsecond\r\nthird\"\n"
                                    "2,\"a,\"\"b\"\"\n\"\n"
                                    "3,after\n");
    s_expect(reader, 1, 2, "id", "note");
    s_expect(reader, 2, 2, "1", "first\nsecond\r\nthird");
    s_expect(reader, 5, 2, "2", "a,\"b\"\n");
    s_expect(reader, 7, 2, "3", "after");
    s_expect_end(reader);
    csv_reader_destroy(&reader);
}

static void test_ragged_rows_are_returned_as_they_are(void **state)
{
    (void)state;
    csv_reader_t *reader = s_reader("a,b,c\n1,2\n1,2,3,4\n,\n");
    s_expect(reader, 1, 3, "a", "b", "c");
    s_expect(reader, 2, 2, "1", "2");
    s_expect(reader, 3, 4, "1", "2", "3", "4");
    s_expect(reader, 4, 2, "", "");
    s_expect_end(reader);
    csv_reader_destroy(&reader);
}

static void test_oversized_field_is_an_error_and_reading_goes_on(void **state)
{
    (void)state;
    size_t big = 64 * 1024 + 1;
    char *text = malloc(big + 64);
    assert_non_null(text);
    strcpy(text, "id,note\n1,");
    size_t len = strlen(text);
    memset(text + len, 'x', big);
    strcpy(text + len + big, "\n2,fine\n");
    csv_reader_t *reader = s_reader(text);
    s_expect(reader, 1, 2, "id", "note");
    s_expect_error(reader, "line 2: field 2 longer than 64 KiB");
    s_expect(reader, 3, 2, "2", "fine");
    s_expect_end(reader);
    csv_reader_destroy(&reader);
    free(text);
}

static void test_stray_quote_costs_one_record(void **state)
{
    (void)state;
    /* A quote that never closes would swallow the file: the field limit
     * stops it, and reading resumes at the line end where it stopped. */
    csv_reader_t *reader = s_reader("a,\"oops\nb,c\nd,e\n");
    csv_reader_set_limits(reader, 4, 0);
    s_expect_error(reader, "line 1: field 2 longer than 4 bytes");
    s_expect(reader, 2, 2, "b", "c");
    s_expect(reader, 3, 2, "d", "e");
    s_expect_end(reader);
    csv_reader_destroy(&reader);

    reader = s_reader("1,abcdefghij,3\n2,ok\n");
    csv_reader_set_limits(reader, 0, 8);
    s_expect_error(reader, "line 1: record longer than 8 bytes");
    s_expect(reader, 2, 2, "2", "ok");
    s_expect_end(reader);
    csv_reader_destroy(&reader);
}

static void test_malformed_records(void **state)
{
    (void)state;
    static const char text[] = "\"ab\"c,d\n"    /* text after a closing quote */
                               "x,\"y\"\n"      /* fine */
                               "n,u\0l\n"       /* a NUL byte */
                               "last,\"open\n"; /* a quote open at the end */
    csv_reader_t *reader = csv_reader_new_buffer(text, sizeof text - 1);
    s_expect_error(reader, "line 1: field 1: a character after its closing quote");
    s_expect(reader, 2, 2, "x", "y");
    s_expect_error(reader, "line 3: field 2 contains a NUL byte");
    s_expect_error(reader, "line 4: field 2: quote not closed at the end of the input");
    s_expect_end(reader);
    csv_reader_destroy(&reader);
}

static void test_file_and_buffer_agree_across_chunks(void **state)
{
    (void)state;
    /* Well over the 64 KiB read chunk, with quoted fields spanning lines,
     * so that records straddle chunk boundaries. */
    size_t cap = 400 * 1024, len = 0;
    char *text = malloc(cap);
    assert_non_null(text);
    len += (size_t)sprintf(text, "id,note\r\n");
    for (int i = 0; i < 4000; i++)
        len += (size_t)sprintf(text + len, "%d,\"row %d, \"\"quoted\"\"\r\nline two\"\r\n", i, i);
    FILE *file = fmemopen(text, len, "rb");
    assert_non_null(file);
    csv_reader_t *from_file = csv_reader_new(file);
    csv_reader_t *from_buffer = csv_reader_new_buffer(text, len);
    err_t err = {0};
    int rows = 0, a, b;
    while ((a = csv_read(from_file, &err)) == 1) {
        b = csv_read(from_buffer, &err);
        assert_int_equal(b, 1);
        size_t na, nb;
        const char *const *fa = csv_fields(from_file, &na);
        const char *const *fb = csv_fields(from_buffer, &nb);
        assert_int_equal(na, 2);
        assert_int_equal(nb, 2);
        assert_string_equal(fa[0], fb[0]);
        assert_string_equal(fa[1], fb[1]);
        assert_int_equal(csv_record_line(from_file), csv_record_line(from_buffer));
        if (rows > 0) {
            char want[64];
            snprintf(want, sizeof want, "row %d, \"quoted\"\r\nline two", rows - 1);
            assert_string_equal(fa[1], want);
            assert_int_equal(csv_record_line(from_file), 2 * rows);
        }
        rows++;
    }
    assert_int_equal(a, 0);
    assert_int_equal(csv_read(from_buffer, &err), 0);
    assert_int_equal(rows, 4001);
    csv_reader_destroy(&from_file);
    csv_reader_destroy(&from_buffer);
    fclose(file);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_and_quoted),
        cmocka_unit_test(test_crlf_bom_and_empty_lines),
        cmocka_unit_test(test_embedded_newlines_keep_line_numbers),
        cmocka_unit_test(test_ragged_rows_are_returned_as_they_are),
        cmocka_unit_test(test_oversized_field_is_an_error_and_reading_goes_on),
        cmocka_unit_test(test_stray_quote_costs_one_record),
        cmocka_unit_test(test_malformed_records),
        cmocka_unit_test(test_file_and_buffer_agree_across_chunks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
