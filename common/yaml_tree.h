/* yaml_tree.h — a YAML document as a small tree of maps, lists and scalars.
 *
 * The parser (libyaml) stays inside yaml_tree.c; callers only see this tree.
 * Every node keeps the 1-based line it starts on, so a reader of the tree can
 * report "file:line" for any value. Scalars stay text: deciding whether "42"
 * is a number is the reader's job, helped by `quoted` (a quoted scalar is
 * always a string, never a number or null). Block and flow style give the
 * same tree.
 *
 * Deliberately unsupported, and reported as errors: more than one document,
 * aliases (an anchor is ignored, a *reference is refused), keys that are not
 * scalars, duplicate keys in one map, NUL bytes in a scalar, nesting deeper
 * than YAML_TREE_DEPTH_MAX.
 *
 * The root returned by yaml_tree_load / yaml_tree_parse owns the whole tree;
 * yaml_tree_destroy frees it. Nodes reached from it are borrowed. */
#ifndef LEADOPS_YAML_TREE_H
#define LEADOPS_YAML_TREE_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

#define YAML_TREE_DEPTH_MAX 64

typedef enum {
    YAML_TREE_SCALAR = 0,
    YAML_TREE_LIST,
    YAML_TREE_MAP,
} yaml_tree_kind_t;

typedef struct yaml_tree_node yaml_tree_node_t;

typedef struct {
    char *key;               /* owned */
    int key_line;            /* 1-based */
    yaml_tree_node_t *value; /* owned */
} yaml_tree_pair_t;

struct yaml_tree_node {
    yaml_tree_kind_t kind;
    int line;                 /* 1-based line the node starts on */
    bool quoted;              /* scalar written quoted or as a block (| or >) */
    char *text;               /* owned; scalar only, NUL-terminated */
    yaml_tree_node_t **items; /* owned; list only, count items */
    yaml_tree_pair_t *pairs;  /* owned; map only, count pairs in file order */
    size_t count;
};

/* Parses the file at PATH. An empty file gives a null scalar on line 1.
 * Returns the root, or NULL with *err set: ERR_IO "path: reason" when the
 * file cannot be read (or is 16 MiB or more), ERR_INPUT "path:line: reason"
 * when it is not YAML we accept, ERR_NOMEM. */
yaml_tree_node_t *yaml_tree_load(const char *path, err_t *err);

/* Same as yaml_tree_load for SIZE bytes of TEXT; NAME stands for the file
 * in error messages. */
yaml_tree_node_t *yaml_tree_parse(const char *text, size_t size, const char *name, err_t *err);

/* Frees the tree rooted at *SELF_P and sets *SELF_P to NULL. NULL-safe. */
void yaml_tree_destroy(yaml_tree_node_t **self_p);

/* The value of KEY in MAP, or NULL when MAP is not a map or lacks KEY. */
const yaml_tree_node_t *yaml_tree_get(const yaml_tree_node_t *map, const char *key);

/* True for an unquoted empty, "~" or "null" scalar: YAML's way to say nothing. */
bool yaml_tree_is_null(const yaml_tree_node_t *node);

/* The same rule for TEXT read as an unquoted scalar (an environment value, say). */
bool yaml_tree_text_is_null(const char *text);

/* "a scalar", "a list", "a mapping": for messages like "expected X, got a list". */
const char *yaml_tree_kind_name(yaml_tree_kind_t kind);

#endif
