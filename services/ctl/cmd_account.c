/* leadopsctl account: the accounts routing gives to their owners.
 *
 * An account is <p>:account:<domain> {name, owner} plus <domain> in the set
 * <p>:accounts. routing.lua's route op looks a lead's email domain up there,
 * then each parent domain ("eu.acme.com", then "acme.com"), and a queue with
 * owner_first gives the lead to the owner when the owner can take it. So the
 * domain is stored the way routing asks for it: lower case, without "www.",
 * a scheme, a port or a path.
 *
 * `import` writes rows in pipelined batches; a row without a usable domain
 * is reported with its line and skipped, an owner that is not a rep of
 * <p>:reps is a warning (the rep may be added later) and the row is still
 * imported. Importing a file again is harmless: a row replaces its account. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "csv.h"
#include "ctl.h"
#include "keys.h"

#define DOMAIN_MAX 253  /* DNS: a name's text form */
#define BATCH_ROWS 1000 /* rows per pipeline round trip */

/* ---- domains ----------------------------------------------------------- */

int ctl_domain_normalize(const char *text, char *out, size_t size, err_t *err)
{
    /* Messages quote TEXT as given, without surrounding blanks. */
    while (isspace((unsigned char)*text))
        text++;
    int text_len = (int)strnlen(text, 200);
    while (text_len && isspace((unsigned char)text[text_len - 1]))
        text_len--;
    if (text_len == 0)
        return err_set(err, ERR_INPUT, "no domain");
    const char *start = text;
    const char *scheme = strstr(start, "://");
    if (scheme && scheme - text < text_len)
        start = scheme + 3;
    /* The authority ends at a path, query or fragment; the host is after
     * its last '@' (user@host, an email address) and before a port. */
    size_t len = strcspn(start, "/?#");
    if ((size_t)(start - text) + len > (size_t)text_len)
        len = (size_t)text_len - (size_t)(start - text);
    for (const char *at; (at = memchr(start, '@', len));) {
        len -= (size_t)(at + 1 - start);
        start = at + 1;
    }
    const char *port = memchr(start, ':', len);
    if (port)
        len = (size_t)(port - start);
    char domain[DOMAIN_MAX + 2];
    if (len == 0 || len > DOMAIN_MAX + 1)
        return err_set(err, ERR_INPUT,
                       len ? "\"%.*s\" is longer than a domain can be" : "\"%.*s\" holds no domain",
                       text_len, text);
    for (size_t i = 0; i < len; i++)
        domain[i] = (char)tolower((unsigned char)start[i]);
    domain[len] = '\0';
    if (domain[len - 1] == '.') /* the root: "acme.com." is "acme.com" */
        domain[--len] = '\0';
    const char *name = strncmp(domain, "www.", 4) == 0 ? domain + 4 : domain;
    /* Labels of letters, digits and inner hyphens; at least two of them. */
    size_t label = 0;
    bool dotted = false;
    for (const char *p = name;; p++) {
        if (*p == '.' || *p == '\0') {
            if (label == 0 || label > 63 || p[-1] == '-')
                return err_set(err, ERR_INPUT, "\"%.*s\" is not a domain", text_len, text);
            if (*p == '\0')
                break;
            dotted = true;
            label = 0;
        } else if (isalnum((unsigned char)*p) || (*p == '-' && label > 0)) {
            label++;
        } else {
            return err_set(err, ERR_INPUT,
                           (unsigned char)*p >= 0x80
                               ? "\"%.*s\" is not an ASCII domain: give its punycode form (xn--)"
                               : "\"%.*s\" is not a domain",
                           text_len, text);
        }
    }
    if (!dotted)
        return err_set(err, ERR_INPUT, "\"%.*s\" is not a domain: it has no dot", text_len, text);
    if (strlen(name) >= size)
        return err_set(err, ERR_INPUT, "\"%.*s\" is too long", text_len, text);
    memcpy(out, name, strlen(name) + 1);
    return 0;
}

/* ---- import ------------------------------------------------------------ */

typedef enum {
    SKIP_UNREADABLE, /* the CSV reader refused the record */
    SKIP_FIELDS,     /* not as many fields as the header */
    SKIP_NO_DOMAIN,
    SKIP_NOT_DOMAIN,
    SKIP_KINDS
} s_skip_t;

static const char *const s_skip_names[SKIP_KINDS] = {"unreadable", "with the wrong field count",
                                                     "without a domain", "not a domain"};

typedef struct {
    const ctl_account_import_t *opts; /* borrowed */
    const char *prefix;               /* borrowed */
    FILE *report;                     /* borrowed */
    ctl_problems_t problems;          /* on REPORT, of the file */
    json_t *reps;                     /* owned: rep id -> true; NULL: owners not checked */
    json_t *seen;                     /* owned: domain -> the line it was on */
    store_batch_t *batch;             /* owned */
    uint64_t *lines;                  /* owned: the row line of each batched command */
    size_t commands;                  /* commands in the batch */
    uint64_t rows, imported, unknown_owners, duplicates;
    uint64_t skipped[SKIP_KINDS];
} s_import_t;

static void s_skip(s_import_t *state, s_skip_t kind, uint64_t line, const char *reason)
{
    state->skipped[kind]++;
    ctl_problem(&state->problems, line, "skipped: %s", reason);
}

/* The index of the column named NAME (case and blanks ignored), or -1. */
static int s_column(const char *const *names, size_t count, const char *name)
{
    for (size_t i = 0; i < count; i++) {
        const char *n = names[i];
        while (isspace((unsigned char)*n))
            n++;
        size_t len = strlen(n);
        while (len && isspace((unsigned char)n[len - 1]))
            len--;
        if (len == strlen(name) && strncasecmp(n, name, len) == 0)
            return (int)i;
    }
    return -1;
}

/* A cell without surrounding blanks, into BUF (cut at SIZE). */
static const char *s_trimmed(const char *cell, char *buf, size_t size)
{
    while (isspace((unsigned char)*cell))
        cell++;
    size_t len = strlen(cell);
    while (len && isspace((unsigned char)cell[len - 1]))
        len--;
    if (len >= size)
        len = size - 1;
    memcpy(buf, cell, len);
    buf[len] = '\0';
    return buf;
}

/* Reads <p>:reps into STATE->reps; an empty set leaves owners unchecked. */
static int s_load_reps(store_t *store, s_import_t *state, err_t *err)
{
    char key[KEY_MAX];
    keys_format(key, sizeof key, state->prefix, "reps");
    store_value_t *reply = store_command(store, err, "SMEMBERS %s", key);
    if (!reply)
        return -1;
    if (reply->type != STORE_ARRAY) {
        err_set(err, ERR_IO, "SMEMBERS %s: %s", key,
                reply->type == STORE_ERROR ? reply->str : "unexpected reply");
        store_value_free(&reply);
        return -1;
    }
    if (reply->count) {
        state->reps = json_object();
        for (size_t i = 0; i < reply->count; i++)
            json_object_set_new(state->reps, store_value_str(reply->elements[i], ""), json_true());
    } else {
        fprintf(state->report,
                "%s: warning: %s holds no reps yet (has leadops-routing started with the "
                "config?): owners are imported unchecked\n",
                state->opts->path, key);
    }
    store_value_free(&reply);
    return 0;
}

static void s_batch_command(s_import_t *state, uint64_t line, int argc, const char **argv)
{
    store_batch_command(state->batch, argc, argv, NULL);
    state->lines[state->commands++] = line;
}

/* Sends the batched rows. Returns 0, or -1 with *err naming the first row
 * Redis refused (rows before it are written; importing again is harmless). */
static int s_flush(store_t *store, s_import_t *state, err_t *err)
{
    if (state->commands == 0)
        return 0;
    int rc = store_batch_exec(store, state->batch, err);
    for (size_t i = 0; rc == 0 && i < state->commands; i++) {
        const store_value_t *reply = store_batch_reply(state->batch, i);
        if (!reply || reply->type == STORE_ERROR)
            rc = err_set(err, ERR_IO, "%s:%llu: redis refused the account: %s", state->opts->path,
                         (unsigned long long)state->lines[i],
                         reply && reply->str ? reply->str : "no reply");
    }
    store_batch_reset(state->batch);
    state->commands = 0;
    return rc;
}

/* Checks one row and queues its writes. */
static void s_row(s_import_t *state, const char *const *cells, const int columns[3], uint64_t line)
{
    char domain[DOMAIN_MAX + 1], name[1024], owner[256];
    err_t err = {0};
    const char *raw = cells[columns[0]];
    if (ctl_domain_normalize(raw, domain, sizeof domain, &err) < 0) {
        bool empty = strcmp(err.msg, "no domain") == 0;
        s_skip(state, empty ? SKIP_NO_DOMAIN : SKIP_NOT_DOMAIN, line, err.msg);
        return;
    }
    s_trimmed(columns[1] >= 0 ? cells[columns[1]] : "", name, sizeof name);
    s_trimmed(columns[2] >= 0 ? cells[columns[2]] : "", owner, sizeof owner);
    if (*owner && state->reps && !json_object_get(state->reps, owner)) {
        state->unknown_owners++;
        ctl_problem(&state->problems, line,
                    "warning: owner \"%s\" of %s is not a known rep (not in %s:reps): "
                    "imported; routing gives it leads once the rep exists",
                    owner, domain, state->prefix);
    }
    json_t *earlier = json_object_get(state->seen, domain);
    if (earlier) {
        state->duplicates++;
        ctl_problem(&state->problems, line,
                    "warning: %s is also on line %lld: this row replaces it", domain,
                    (long long)json_integer_value(earlier));
    }
    json_object_set_new(state->seen, domain, json_integer((json_int_t)line));
    state->imported++;
    if (state->opts->dry_run)
        return;
    char key[KEY_MAX], accounts[KEY_MAX], suffix[DOMAIN_MAX + 16];
    snprintf(suffix, sizeof suffix, "account:%s", domain);
    keys_format(key, sizeof key, state->prefix, suffix);
    keys_format(accounts, sizeof accounts, state->prefix, "accounts");
    /* Without a name the domain names the account, as routing does. */
    const char *display = *name ? name : domain;
    if (*owner) {
        s_batch_command(state, line, 6,
                        (const char *[]){"HSET", key, "name", display, "owner", owner});
    } else {
        s_batch_command(state, line, 4, (const char *[]){"HSET", key, "name", display});
        s_batch_command(state, line, 3, (const char *[]){"HDEL", key, "owner"});
    }
    s_batch_command(state, line, 3, (const char *[]){"SADD", accounts, domain});
}

static void s_summary(const s_import_t *state, double seconds)
{
    const ctl_account_import_t *opts = state->opts;
    ctl_problems_end(&state->problems);
    uint64_t skipped = 0;
    for (int k = 0; k < SKIP_KINDS; k++)
        skipped += state->skipped[k];
    fprintf(state->report, "account import %s%s: %llu rows, %llu %s, %llu skipped", opts->path,
            opts->dry_run ? " (dry run: nothing written)" : "", (unsigned long long)state->rows,
            (unsigned long long)state->imported, opts->dry_run ? "would be imported" : "imported",
            (unsigned long long)skipped);
    const char *sep = " (";
    for (int k = 0; k < SKIP_KINDS; k++) {
        if (state->skipped[k]) {
            fprintf(state->report, "%s%llu %s", sep, (unsigned long long)state->skipped[k],
                    s_skip_names[k]);
            sep = ", ";
        }
    }
    if (strcmp(sep, ", ") == 0)
        fputc(')', state->report);
    fprintf(state->report, ", %llu owners not known reps, %llu domains repeated in %.2f s\n",
            (unsigned long long)state->unknown_owners, (unsigned long long)state->duplicates,
            seconds);
}

/* Reads the header and finds the columns; returns 0, or -1 with *err. */
static int s_header(csv_reader_t *csv, const ctl_account_import_t *opts, FILE *report,
                    int columns[3], size_t *count, err_t *err)
{
    int read = csv_read(csv, err);
    if (read <= 0)
        return read == 0 ? err_set(err, ERR_INPUT, "%s: empty file: no header line", opts->path)
                         : err_wrap(err, "%s: header", opts->path);
    const char *const *names = csv_fields(csv, count);
    const char *wanted[3] = {opts->domain_column ? opts->domain_column : "domain",
                             opts->name_column ? opts->name_column : "name",
                             opts->owner_column ? opts->owner_column : "owner"};
    const bool given[3] = {opts->domain_column, opts->name_column, opts->owner_column};
    for (int c = 0; c < 3; c++) {
        columns[c] = s_column(names, *count, wanted[c]);
        if (columns[c] >= 0)
            continue;
        if (c == 0 || given[c]) {
            char list[512] = "";
            size_t used = 0;
            for (size_t i = 0; i < *count && used + 1 < sizeof list; i++) {
                int n = snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", names[i]);
                used = n < 0 ? sizeof list : used + (size_t)n;
            }
            return err_set(err, ERR_INPUT,
                           "%s: no column \"%s\" in the header (it has: %s); name the column "
                           "with --%s-column",
                           opts->path, wanted[c], list,
                           c == 0   ? "domain"
                           : c == 1 ? "name"
                                    : "owner");
        }
        fprintf(report, "%s: warning: no column \"%s\": accounts are imported without %s\n",
                opts->path, wanted[c], c == 1 ? "names (the domain names them)" : "owners");
    }
    return 0;
}

int ctl_account_import_run(store_t *store, const char *prefix, const ctl_account_import_t *opts,
                           FILE *report, err_t *err)
{
    bool from_stdin = strcmp(opts->path, "-") == 0;
    FILE *in = from_stdin ? stdin : fopen(opts->path, "rb");
    if (!in)
        return err_set(err, ERR_IO, "cannot open %s: %s", opts->path, strerror(errno));
    csv_reader_t *csv = csv_reader_new(in);
    s_import_t state = {.opts = opts,
                        .prefix = prefix,
                        .report = report,
                        .problems = {.out = report, .path = opts->path},
                        .seen = json_object(),
                        .batch = store_batch_new(),
                        .lines = calloc(3 * BATCH_ROWS, sizeof *state.lines)};
    if (!csv || !state.seen || !state.batch || !state.lines)
        abort();
    int rc = -1;
    int columns[3];
    size_t count = 0;
    if (s_header(csv, opts, report, columns, &count, err) < 0 ||
        s_load_reps(store, &state, err) < 0)
        goto done;
    ctl_progress_t progress;
    ctl_progress_start(&progress);
    state.problems.tty = progress.tty && report == stderr;
    int read;
    while ((read = csv_read(csv, err)) != 0) {
        uint64_t line = csv_record_line(csv);
        if (read < 0 && err->code == ERR_IO) {
            err_wrap(err, "%s", opts->path);
            goto done;
        }
        state.rows++;
        size_t fields;
        const char *const *cells = csv_fields(csv, &fields);
        if (read < 0) {
            /* csv.h: "line N: reason" */
            const char *reason = strstr(err->msg, ": ");
            s_skip(&state, SKIP_UNREADABLE, line, reason ? reason + 2 : err->msg);
        } else if (fields != count) {
            char reason[96];
            snprintf(reason, sizeof reason, "%zu fields, the header has %zu", fields, count);
            s_skip(&state, SKIP_FIELDS, line, reason);
        } else {
            s_row(&state, cells, columns, line);
        }
        err_clear(err);
        if (state.commands + 3 > 3 * BATCH_ROWS && s_flush(store, &state, err) < 0)
            goto done;
        if (progress.tty)
            ctl_progress_draw(&progress, "line %llu: %llu imported, %llu skipped",
                              (unsigned long long)line, (unsigned long long)state.imported,
                              (unsigned long long)(state.rows - state.imported));
    }
    if (s_flush(store, &state, err) < 0)
        goto done;
    double seconds = ctl_progress_end(&progress);
    s_summary(&state, seconds);
    rc = state.imported == state.rows ? 0 : 1;
done:
    if (rc < 0 && state.imported && !opts->dry_run)
        err_wrap(err, "stopped after %llu rows (those written stay; importing again is harmless)",
                 (unsigned long long)state.rows);
    free(state.lines);
    store_batch_destroy(&state.batch);
    json_decref(state.seen);
    json_decref(state.reps);
    csv_reader_destroy(&csv);
    if (!from_stdin)
        fclose(in);
    return rc;
}

/* ---- list and show ----------------------------------------------------- */

/* {"accounts": [{domain, name, owner}, ...]} sorted by domain, or NULL
 * after printing why. */
static json_t *s_accounts(store_t *store, const char *prefix)
{
    err_t err = {0};
    char key[KEY_MAX];
    keys_format(key, sizeof key, prefix, "accounts");
    store_value_t *domains = store_command(store, &err, "SORT %s ALPHA", key);
    if (domains && domains->type != STORE_ARRAY)
        err_set(&err, ERR_IO, "SORT %s: %s", key,
                domains->type == STORE_ERROR ? domains->str : "unexpected reply");
    json_t *list = NULL;
    store_batch_t *batch = store_batch_new();
    if (domains && domains->type == STORE_ARRAY) {
        for (size_t i = 0; i < domains->count; i++) {
            char account[KEY_MAX], suffix[KEY_MAX];
            snprintf(suffix, sizeof suffix, "account:%s",
                     store_value_str(domains->elements[i], ""));
            keys_format(account, sizeof account, prefix, suffix);
            store_batch_command(batch, 4, (const char *[]){"HMGET", account, "name", "owner"},
                                NULL);
        }
        if (store_batch_exec(store, batch, &err) == 0) {
            list = json_array();
            for (size_t i = 0; i < domains->count; i++) {
                const store_value_t *h = store_batch_reply(batch, i);
                json_t *row = json_object();
                json_object_set_new(row, "domain",
                                    json_string(store_value_str(domains->elements[i], "")));
                const char *name = store_value_str(store_value_at(h, 0), NULL);
                const char *owner = store_value_str(store_value_at(h, 1), NULL);
                json_object_set_new(row, "name", name ? json_string(name) : json_null());
                json_object_set_new(row, "owner", owner ? json_string(owner) : json_null());
                json_array_append_new(list, row);
            }
        }
    }
    if (!list)
        fprintf(stderr, "leadopsctl account list: %s\n", err.msg);
    store_batch_destroy(&batch);
    store_value_free(&domains);
    if (!list)
        return NULL;
    json_t *view = json_object();
    json_object_set_new(view, "accounts", list);
    return view;
}

static int s_list(store_t *store, const config_t *cfg, bool json)
{
    json_t *view = s_accounts(store, cfg->redis_prefix);
    if (!view)
        return 1;
    json_t *list = json_object_get(view, "accounts");
    if (json) {
        ctl_print_json(view);
        return 0;
    }
    printf("%-32s %-32s %s\n", "DOMAIN", "NAME", "OWNER");
    size_t i;
    json_t *row;
    json_array_foreach(list, i, row)
    {
        const char *name = json_string_value(json_object_get(row, "name"));
        const char *owner = json_string_value(json_object_get(row, "owner"));
        printf("%-32s %-32s %s\n", json_string_value(json_object_get(row, "domain")),
               name ? name : "-", owner ? owner : "-");
    }
    printf("%zu accounts\n", json_array_size(list));
    json_decref(view);
    return 0;
}

/* Prints the account DOMAIN (or the parent domain routing would find). */
static int s_show(store_t *store, const config_t *cfg, const char *text)
{
    char domain[DOMAIN_MAX + 1];
    err_t err = {0};
    if (ctl_domain_normalize(text, domain, sizeof domain, &err) < 0) {
        fprintf(stderr, "leadopsctl account show: %s\n", err.msg);
        return 2;
    }
    const char *lookup = domain;
    for (size_t i = 0; i < cfg->domain_alias_count; i++)
        if (strcmp(cfg->domain_alias_from[i], domain) == 0) {
            lookup = cfg->domain_alias_to[i];
            printf("%s is an alias of %s (routing.domain_aliases)\n", domain, lookup);
        }
    /* Routing's order: the domain, then each parent with at least two labels. */
    for (const char *d = lookup; d && strchr(d, '.'); d = strchr(d, '.') + 1) {
        char key[KEY_MAX], suffix[KEY_MAX];
        snprintf(suffix, sizeof suffix, "account:%s", d);
        keys_format(key, sizeof key, cfg->redis_prefix, suffix);
        store_value_t *h = store_command(store, &err, "HMGET %s name owner", key);
        if (!h || h->type != STORE_ARRAY) {
            fprintf(stderr, "leadopsctl account show: %s\n",
                    h ? store_value_str(h, "unexpected reply") : err.msg);
            store_value_free(&h);
            return 1;
        }
        const char *name = store_value_str(store_value_at(h, 0), NULL);
        const char *owner = store_value_str(store_value_at(h, 1), NULL);
        if (name || owner) {
            if (d != lookup)
                printf("no account %s: leads there belong to the parent domain's account\n",
                       lookup);
            printf("domain: %s\nname:   %s\nowner:  %s\n", d, name ? name : d,
                   owner ? owner : "(none: routing gives its leads by the queue's strategy)");
            if (owner) {
                char rep[KEY_MAX], rep_suffix[KEY_MAX];
                snprintf(rep_suffix, sizeof rep_suffix, "rep:%s", owner);
                keys_format(rep, sizeof rep, cfg->redis_prefix, rep_suffix);
                store_value_t *r = store_command(store, &err, "HMGET %s name status", rep);
                const char *status = store_value_str(store_value_at(r, 1), NULL);
                if (status)
                    printf("        %s, %s\n", store_value_str(store_value_at(r, 0), owner),
                           status);
                else if (r)
                    printf("        not a known rep: its leads go by the queue's strategy\n");
                store_value_free(&r);
            }
            store_value_free(&h);
            return 0;
        }
        store_value_free(&h);
    }
    fprintf(stderr,
            "leadopsctl account show: no account for %s or a parent domain; `leadopsctl account "
            "list` lists them, `leadopsctl account import` adds them\n",
            lookup);
    return 1;
}

static int s_usage(FILE *out)
{
    fprintf(out,
            "usage: leadopsctl account import FILE.csv|- [--domain-column C] [--name-column C]\n"
            "                                 [--owner-column C] [--dry-run]\n"
            "       leadopsctl account list [--json]\n"
            "       leadopsctl account show DOMAIN\n"
            "Accounts let routing give a lead to its account's owner (queues with owner_first):\n"
            "a lead's email domain, then each parent domain, is looked up among them.\n"
            "import reads a CSV with a header (columns domain, name and owner unless named):\n"
            "a domain may be a URL or an email address; it is stored lower case, without\n"
            "\"www.\", scheme, port or path. A row without a usable domain is reported as\n"
            "FILE:LINE: reason and skipped; an owner that is not a rep id is a warning and\n"
            "the row is imported. A row replaces the account it names, so importing again is\n"
            "harmless. --dry-run checks every row and writes nothing.\n"
            "Exit status: 0 every row imported, 1 some skipped, the file unreadable or Redis\n"
            "failed, 2 usage or a header without the domain column.\n");
    return out == stdout ? 0 : 2;
}

static int s_import(int argc, char **argv, const config_t *cfg)
{
    ctl_account_import_t opts = {0};
    for (int i = 2; i < argc; i++) {
        const char *arg = argv[i];
        bool has_value = i + 1 < argc;
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)
            return s_usage(stdout);
        if (strcmp(arg, "--dry-run") == 0)
            opts.dry_run = true;
        else if (has_value && strcmp(arg, "--domain-column") == 0)
            opts.domain_column = argv[++i];
        else if (has_value && strcmp(arg, "--name-column") == 0)
            opts.name_column = argv[++i];
        else if (has_value && strcmp(arg, "--owner-column") == 0)
            opts.owner_column = argv[++i];
        else if ((arg[0] != '-' || strcmp(arg, "-") == 0) && !opts.path)
            opts.path = arg;
        else
            return s_usage(stderr);
    }
    if (!opts.path)
        return s_usage(stderr);
    store_t *store = ctl_store_open(cfg);
    if (!store)
        return 1;
    err_t err = {0};
    int rc = ctl_account_import_run(store, cfg->redis_prefix, &opts, stderr, &err);
    store_destroy(&store);
    if (rc < 0) {
        fprintf(stderr, "leadopsctl account import: %s\n", err.msg);
        return err.code == ERR_INPUT ? 2 : 1;
    }
    return rc;
}

int ctl_account(int argc, char **argv, const config_t *cfg)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
        return s_usage(argc < 2 ? stderr : stdout);
    const char *verb = argv[1];
    if (strcmp(verb, "import") == 0)
        return s_import(argc, argv, cfg);
    bool help = argc == 3 && strcmp(argv[2], "--help") == 0;
    bool json = argc == 3 && strcmp(argv[2], "--json") == 0;
    bool list = strcmp(verb, "list") == 0 && (argc == 2 || json);
    bool show = strcmp(verb, "show") == 0 && argc == 3 && argv[2][0] != '-';
    if (help)
        return s_usage(stdout);
    if (!list && !show)
        return s_usage(stderr);
    store_t *store = ctl_store_open(cfg);
    if (!store)
        return 1;
    int rc = list ? s_list(store, cfg, json) : s_show(store, cfg, argv[2]);
    store_destroy(&store);
    return rc;
}
