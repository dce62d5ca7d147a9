#include "yaml_tree.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* yaml_tree_load reads this much at most: a configuration, not a data set. */
#define FILE_SIZE_MAX ((size_t)16 << 20)

/* One parse in progress. The tree is built from libyaml's event stream rather
 * than its document API because events carry the line of every scalar and
 * collection start, and because refusing aliases at the event level means no
 * node is ever shared: every node has exactly one owner. */
typedef struct {
    yaml_parser_t parser;
    const char *text; /* borrowed: the input */
    size_t size;
    const char *name; /* borrowed: the file, for messages */
    err_t *err;       /* borrowed: may be NULL */
} reader_t;

static int s_fail(reader_t *reader, size_t line0, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int s_fail(reader_t *reader, size_t line0, const char *fmt, ...)
{
    char reason[ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    return err_set(reader->err, ERR_INPUT, "%s:%zu: %s", reader->name, line0 + 1, reason);
}

static int s_fail_nomem(reader_t *reader)
{
    return err_set(reader->err, ERR_NOMEM, "%s: out of memory", reader->name);
}

/* Reads the next event into EVENT (which the caller then owns). */
static int s_next(reader_t *reader, yaml_event_t *event)
{
    if (yaml_parser_parse(&reader->parser, event))
        return 0;
    yaml_parser_t *parser = &reader->parser;
    if (parser->error == YAML_MEMORY_ERROR)
        return s_fail_nomem(reader);
    const char *problem = parser->problem ? parser->problem : "invalid YAML";
    size_t line0 = parser->problem_mark.line;
    if (parser->error == YAML_READER_ERROR) {
        /* A reader error (bad UTF-8, a control character) has only a byte
         * offset: the reader decodes ahead of the scanner, so no mark is near. */
        size_t offset =
            parser->problem_offset < reader->size ? parser->problem_offset : reader->size;
        line0 = 0;
        for (size_t i = 0; i < offset; i++)
            line0 += reader->text[i] == '\n';
    }
    if (parser->context)
        return s_fail(reader, line0, "%s %s", problem, parser->context);
    return s_fail(reader, line0, "%s", problem);
}

static yaml_tree_node_t *s_node_new(yaml_tree_kind_t kind, const yaml_mark_t *start)
{
    yaml_tree_node_t *node = calloc(1, sizeof *node);
    if (node) {
        node->kind = kind;
        node->line = (int)start->line + 1;
    }
    return node;
}

static void s_node_free(yaml_tree_node_t *node)
{
    if (!node)
        return;
    free(node->text);
    if (node->kind == YAML_TREE_LIST) {
        for (size_t i = 0; i < node->count; i++)
            s_node_free(node->items[i]);
    } else if (node->kind == YAML_TREE_MAP) {
        for (size_t i = 0; i < node->count; i++) {
            free(node->pairs[i].key);
            s_node_free(node->pairs[i].value);
        }
    }
    free(node->items);
    free(node->pairs);
    free(node);
}

/* Makes room for one more element in *ARRAY (COUNT used of *CAPACITY). */
static int s_reserve(void **array, size_t *capacity, size_t count, size_t element_size)
{
    if (count < *capacity)
        return 0;
    size_t grown = *capacity ? *capacity * 2 : 8;
    void *bigger = realloc(*array, grown * element_size);
    if (!bigger)
        return -1;
    *array = bigger;
    *capacity = grown;
    return 0;
}

/* libyaml allows "\0" escapes; a C string would silently end there, so a
 * scalar holding one is refused instead of being truncated. */
static char *s_scalar_text(reader_t *reader, const yaml_event_t *event)
{
    const char *value = (const char *)event->data.scalar.value;
    size_t length = event->data.scalar.length;
    if (memchr(value, '\0', length)) {
        s_fail(reader, event->start_mark.line, "scalar contains a NUL byte");
        return NULL;
    }
    char *text = strdup(value);
    if (!text)
        s_fail_nomem(reader);
    return text;
}

static yaml_tree_node_t *s_build(reader_t *reader, const yaml_event_t *event, int depth);

static yaml_tree_node_t *s_build_scalar(reader_t *reader, const yaml_event_t *event)
{
    yaml_tree_node_t *node = s_node_new(YAML_TREE_SCALAR, &event->start_mark);
    if (!node) {
        s_fail_nomem(reader);
        return NULL;
    }
    node->text = s_scalar_text(reader, event);
    if (!node->text) {
        s_node_free(node);
        return NULL;
    }
    /* Anything but a plain scalar is a string by YAML's rules, and so is a
     * plain one tagged !!str. */
    const char *tag = (const char *)event->data.scalar.tag;
    node->quoted = event->data.scalar.style != YAML_PLAIN_SCALAR_STYLE ||
                   (tag && strcmp(tag, YAML_STR_TAG) == 0);
    return node;
}

static yaml_tree_node_t *s_build_list(reader_t *reader, const yaml_event_t *start, int depth)
{
    yaml_tree_node_t *node = s_node_new(YAML_TREE_LIST, &start->start_mark);
    if (!node) {
        s_fail_nomem(reader);
        return NULL;
    }
    size_t capacity = 0;
    for (;;) {
        yaml_event_t event;
        if (s_next(reader, &event) != 0)
            goto fail;
        if (event.type == YAML_SEQUENCE_END_EVENT) {
            yaml_event_delete(&event);
            return node;
        }
        yaml_tree_node_t *item = s_build(reader, &event, depth + 1);
        yaml_event_delete(&event);
        if (!item)
            goto fail;
        if (s_reserve((void **)&node->items, &capacity, node->count, sizeof *node->items) != 0) {
            s_node_free(item);
            s_fail_nomem(reader);
            goto fail;
        }
        node->items[node->count++] = item;
    }
fail:
    s_node_free(node);
    return NULL;
}

/* Reads one key of a map; NULL at the end of the map (with *AT_END set) or on error. */
static char *s_read_key(reader_t *reader, const yaml_tree_node_t *map, int *key_line, bool *at_end)
{
    yaml_event_t event;
    *at_end = false;
    if (s_next(reader, &event) != 0)
        return NULL;
    char *key = NULL;
    if (event.type == YAML_MAPPING_END_EVENT) {
        *at_end = true;
    } else if (event.type == YAML_ALIAS_EVENT) {
        s_fail(reader, event.start_mark.line, "aliases are not supported (*%s)",
               (const char *)event.data.alias.anchor);
    } else if (event.type != YAML_SCALAR_EVENT) {
        s_fail(reader, event.start_mark.line, "only scalar keys are supported");
    } else {
        key = s_scalar_text(reader, &event);
        *key_line = (int)event.start_mark.line + 1;
        /* YAML says keys are unique; libyaml does not check. A silent "last
         * one wins" would hide a typo'd copy-paste, so refuse it. */
        for (size_t i = 0; key && i < map->count; i++) {
            if (strcmp(map->pairs[i].key, key) == 0) {
                s_fail(reader, event.start_mark.line, "duplicate key \"%s\" (first on line %d)",
                       key, map->pairs[i].key_line);
                free(key);
                key = NULL;
            }
        }
    }
    yaml_event_delete(&event);
    return key;
}

static yaml_tree_node_t *s_build_map(reader_t *reader, const yaml_event_t *start, int depth)
{
    yaml_tree_node_t *node = s_node_new(YAML_TREE_MAP, &start->start_mark);
    if (!node) {
        s_fail_nomem(reader);
        return NULL;
    }
    size_t capacity = 0;
    for (;;) {
        int key_line = 0;
        bool at_end;
        char *key = s_read_key(reader, node, &key_line, &at_end);
        if (at_end)
            return node;
        if (!key)
            goto fail;
        yaml_event_t event;
        if (s_next(reader, &event) != 0) {
            free(key);
            goto fail;
        }
        yaml_tree_node_t *value = s_build(reader, &event, depth + 1);
        yaml_event_delete(&event);
        if (!value) {
            free(key);
            goto fail;
        }
        if (s_reserve((void **)&node->pairs, &capacity, node->count, sizeof *node->pairs) != 0) {
            free(key);
            s_node_free(value);
            s_fail_nomem(reader);
            goto fail;
        }
        node->pairs[node->count++] =
            (yaml_tree_pair_t){.key = key, .key_line = key_line, .value = value};
    }
fail:
    s_node_free(node);
    return NULL;
}

/* Builds the node EVENT starts, consuming the events up to its end. The
 * caller still owns (and deletes) EVENT. Recursion is bounded by the depth
 * limit, so hostile input cannot exhaust the stack. */
static yaml_tree_node_t *s_build(reader_t *reader, const yaml_event_t *event, int depth)
{
    switch (event->type) {
    case YAML_SCALAR_EVENT:
        return s_build_scalar(reader, event);
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT:
        if (depth >= YAML_TREE_DEPTH_MAX) {
            s_fail(reader, event->start_mark.line, "nested deeper than %d levels",
                   YAML_TREE_DEPTH_MAX);
            return NULL;
        }
        return event->type == YAML_SEQUENCE_START_EVENT ? s_build_list(reader, event, depth)
                                                        : s_build_map(reader, event, depth);
    case YAML_ALIAS_EVENT:
        s_fail(reader, event->start_mark.line, "aliases are not supported (*%s)",
               (const char *)event->data.alias.anchor);
        return NULL;
    default:
        s_fail(reader, event->start_mark.line, "unexpected YAML event %d", (int)event->type);
        return NULL;
    }
}

/* Reads the event stream: one optional document holding one node. */
static yaml_tree_node_t *s_parse_stream(reader_t *reader)
{
    yaml_event_t event;
    yaml_tree_node_t *root = NULL;
    if (s_next(reader, &event) != 0) /* stream start */
        return NULL;
    yaml_event_delete(&event);
    if (s_next(reader, &event) != 0)
        return NULL;
    if (event.type == YAML_STREAM_END_EVENT) {
        /* Nothing but comments: the same as an empty document. */
        root = s_node_new(YAML_TREE_SCALAR, &event.start_mark);
        if (root)
            root->line = 1;
        yaml_event_delete(&event);
        if (!root || !(root->text = strdup(""))) {
            s_node_free(root);
            s_fail_nomem(reader);
            return NULL;
        }
        return root;
    }
    yaml_event_delete(&event); /* document start */
    if (s_next(reader, &event) != 0)
        return NULL;
    root = s_build(reader, &event, 0);
    yaml_event_delete(&event);
    if (!root)
        return NULL;
    if (s_next(reader, &event) != 0) /* document end */
        goto fail;
    yaml_event_delete(&event);
    if (s_next(reader, &event) != 0)
        goto fail;
    bool second_document = event.type != YAML_STREAM_END_EVENT;
    size_t line0 = event.start_mark.line;
    yaml_event_delete(&event);
    if (second_document) {
        s_fail(reader, line0, "expected a single YAML document");
        goto fail;
    }
    return root;
fail:
    s_node_free(root);
    return NULL;
}

yaml_tree_node_t *yaml_tree_parse(const char *text, size_t size, const char *name, err_t *err)
{
    reader_t reader = {.text = text, .size = size, .name = name, .err = err};
    if (!yaml_parser_initialize(&reader.parser)) {
        err_set(err, ERR_NOMEM, "%s: out of memory", name);
        return NULL;
    }
    yaml_parser_set_input_string(&reader.parser, (const unsigned char *)text, size);
    yaml_tree_node_t *root = s_parse_stream(&reader);
    yaml_parser_delete(&reader.parser);
    return root;
}

/* The whole file, so that yaml_tree_parse can count lines up to a byte
 * offset. Returns a heap buffer of *SIZE bytes, or NULL with *err set. */
static char *s_read_file(const char *path, size_t *size, err_t *err)
{
    FILE *file = fopen(path, "rb");
    if (!file) {
        err_set(err, ERR_IO, "%s: %s", path, strerror(errno));
        return NULL;
    }
    char *text = NULL;
    size_t capacity = 0;
    for (*size = 0;;) {
        if (*size == capacity) {
            char *bigger = NULL;
            if (capacity >= FILE_SIZE_MAX)
                err_set(err, ERR_IO, "%s: %zu MiB or more, too big for YAML we read", path,
                        FILE_SIZE_MAX >> 20);
            else if (!(bigger = realloc(text, capacity = capacity ? 2 * capacity : 64 * 1024)))
                err_set(err, ERR_NOMEM, "%s: out of memory", path);
            if (!bigger)
                goto fail;
            text = bigger;
        }
        size_t got = fread(text + *size, 1, capacity - *size, file);
        if (got == 0)
            break;
        *size += got;
    }
    if (ferror(file)) { /* a directory, say */
        err_set(err, ERR_IO, "%s: %s", path, strerror(errno));
        goto fail;
    }
    fclose(file);
    return text;
fail:
    free(text);
    fclose(file);
    return NULL;
}

yaml_tree_node_t *yaml_tree_load(const char *path, err_t *err)
{
    size_t size;
    char *text = s_read_file(path, &size, err);
    if (!text)
        return NULL;
    yaml_tree_node_t *root = yaml_tree_parse(text, size, path, err);
    free(text);
    return root;
}

void yaml_tree_destroy(yaml_tree_node_t **self_p)
{
    if (self_p && *self_p) {
        s_node_free(*self_p);
        *self_p = NULL;
    }
}

const yaml_tree_node_t *yaml_tree_get(const yaml_tree_node_t *map, const char *key)
{
    if (!map || map->kind != YAML_TREE_MAP)
        return NULL;
    for (size_t i = 0; i < map->count; i++) {
        if (strcmp(map->pairs[i].key, key) == 0)
            return map->pairs[i].value;
    }
    return NULL;
}

bool yaml_tree_is_null(const yaml_tree_node_t *node)
{
    return node && node->kind == YAML_TREE_SCALAR && !node->quoted &&
           yaml_tree_text_is_null(node->text);
}

bool yaml_tree_text_is_null(const char *text)
{
    return text[0] == '\0' || strcmp(text, "~") == 0 || strcmp(text, "null") == 0 ||
           strcmp(text, "Null") == 0 || strcmp(text, "NULL") == 0;
}

const char *yaml_tree_kind_name(yaml_tree_kind_t kind)
{
    switch (kind) {
    case YAML_TREE_SCALAR:
        return "a scalar";
    case YAML_TREE_LIST:
        return "a list";
    case YAML_TREE_MAP:
        return "a mapping";
    }
    return "an unknown node";
}
