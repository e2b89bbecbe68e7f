/* yamltree.h - a strict YAML file read into a small tree of nodes with
 * line:column, for the policy and template loaders (private to lib/src).
 *
 * libyaml's events are built into maps, lists and scalars; aliases, anchors,
 * tags, a second document and nesting deeper than a file kind allows are
 * refused, and libyaml's own errors are turned into messages a school's
 * staff can act on. The first error wins: it is written as
 * "file:line:col: message" into the caller's buffer and every later one is
 * dropped. The words that differ between file kinds come from a
 * yamltree_words_t; everything else reads the same for every kind. No I/O. */
#ifndef ROLLCALL_YAMLTREE_H
#define ROLLCALL_YAMLTREE_H

#include <stddef.h>

#include "rollcall/error.h"

#if defined(__GNUC__)
#define YAMLTREE_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define YAMLTREE_PRINTF(f, a)
#endif

#define YAMLTREE_SHOW_MAX  40 /* bytes of a user's text quoted back in a message */
#define YAMLTREE_MAX_DEPTH 32 /* the most any yamltree_words_t.max_depth may be */

typedef enum { YAMLTREE_SCALAR, YAMLTREE_MAP, YAMLTREE_SEQ } yamltree_kind_t;

typedef struct yamltree_node yamltree_node_t;
struct yamltree_node {
    yamltree_kind_t kind;
    unsigned line, col;         /* 1-based, where the node starts */
    unsigned end_line, end_col; /* scalars: just past the end */
    char *text;                 /* scalars: the bytes, NUL-terminated (escapes may add more NULs) */
    size_t len;
    int plain;              /* scalars: written without quotes */
    yamltree_node_t **kids; /* maps: key, value, key, value...; sequences: the items */
    size_t nkids, cap;
    yamltree_node_t *next; /* every node of the file, for freeing */
};

/* One of libyaml's problems and what to tell the person who wrote it. */
typedef struct {
    const char *problem; /* a part of libyaml's message */
    const char *hint;    /* appended to the message, starting "; " */
} yamltree_hint_t;

/* What one kind of file (policy, template) says in the builder's messages. */
typedef struct {
    const char *kind;              /* "policy": "a policy file holds one policy", "policy files" */
    const char *key_example;       /* a key named in "a key must be a plain name such as `x`" */
    const char *alias;             /* the message for an alias (*name) */
    const char *scalar_anchor;     /* for an anchor (&name) on a value */
    const char *scalar_tag;        /* for a tag (!name) on a value */
    const char *collection_anchor; /* for an anchor on a list or map */
    const char *collection_tag;    /* for a tag on a list or map */
    const yamltree_hint_t *hints;  /* first match wins; ends with a {NULL, NULL} entry */
    unsigned max_depth; /* lists and maps nested deeper are refused; at most YAMLTREE_MAX_DEPTH */
} yamltree_words_t;

/* A file being read: set file, src, srclen, err, errmax and words, leave the
 * rest zero. */
typedef struct {
    const char *file; /* named at the start of every message */
    const char *src;  /* the file's bytes (not owned), to point inside texts */
    size_t srclen;
    char *err; /* the message is written here (errmax bytes) */
    size_t errmax;
    rc_err_t rc;            /* the first error; later ones are not reported */
    yamltree_node_t *nodes; /* every node, owned; freed by yamltree_free */
    const yamltree_words_t *words;
} yamltree_t;

/* A value made safe to quote in a message, by yamltree_show. */
typedef struct {
    char s[YAMLTREE_SHOW_MAX + 4];
} yamltree_shown_t;

/* yamltree_load parses t->src into nodes owned by t (freed by yamltree_free,
 * also after an error) and sets *root, NULL when the file holds no document.
 * Returns 0, or -1 with t->rc and t->err set: RC_EPARSE when the file is not
 * YAML, RC_EINVAL for what a Rollcall file may not use, RC_ENOMEM. */
int yamltree_load(yamltree_t *t, yamltree_node_t **root);

/* yamltree_free frees every node of t; NULL-safe, and safe to call twice. */
void yamltree_free(yamltree_t *t);

/* yamltree_fail_at records the first error of t, at line:col, with code rc,
 * and returns -1 (a later error is dropped). */
YAMLTREE_PRINTF(5, 6)
int yamltree_fail_at(yamltree_t *t, rc_err_t rc, unsigned line, unsigned col, const char *fmt, ...);

/* yamltree_fail records an RC_EINVAL error where node n is written (1:1 for
 * a NULL n) and returns -1. */
YAMLTREE_PRINTF(3, 4)
int yamltree_fail(yamltree_t *t, const yamltree_node_t *n, const char *fmt, ...);

/* yamltree_show copies s[0..len) into b for quoting: control bytes become
 * '?' and a text longer than YAMLTREE_SHOW_MAX is cut at a character
 * boundary with "...". Returns b->s. */
const char *yamltree_show(yamltree_shown_t *b, const char *s, size_t len);

/* yamltree_show_node is yamltree_show of scalar n's text. */
const char *yamltree_show_node(yamltree_shown_t *b, const yamltree_node_t *n);

/* yamltree_is_null is true for a scalar written as nothing, `~` or `null`. */
int yamltree_is_null(const yamltree_node_t *n);

/* yamltree_kind_text names n's kind for a message: "a list" and so on. */
const char *yamltree_kind_text(const yamltree_node_t *n);

/* yamltree_scalar_is is true when n is a scalar whose text is exactly name. */
int yamltree_scalar_is(const yamltree_node_t *n, const char *name);

/* yamltree_get returns the value of key in map, or NULL when it is not there. */
const yamltree_node_t *yamltree_get(const yamltree_node_t *map, const char *key);

/* yamltree_key_node returns the key node itself (for its line), or NULL. */
const yamltree_node_t *yamltree_key_node(const yamltree_node_t *map, const char *key);

/* yamltree_nearest returns the entry of names[0..n) (NULL entries skipped)
 * closest to s[0..len), ignoring case, when close enough to be a slip of the
 * keyboard; else NULL. */
const char *yamltree_nearest(const char *s, size_t len, const char *const *names, size_t n);

/* yamltree_count_names counts the entries of a NULL-terminated list. */
size_t yamltree_count_names(const char *const *names);

/* yamltree_join writes names[0..n) (NULL entries skipped) as "a, b, c"
 * into buf, as many whole names as fit in size bytes. Returns buf. */
const char *yamltree_join(const char *const *names, size_t n, char *buf, size_t size);

/* yamltree_check_keys refuses a key of map not in allowed (NULL-terminated),
 * suggesting the nearest or listing them all, and a key written twice;
 * `where` names the map for the message. Returns 0 or -1 (error in t). */
int yamltree_check_keys(yamltree_t *t, const yamltree_node_t *map, const char *const *allowed,
                        const char *where);

/* yamltree_locate sets *line:*col to where the occurrence'th (0-based)
 * needle[0..nlen) inside scalar n is written in t->src, for a message that
 * points inside a long text; n's own start when escapes hide the needle. */
void yamltree_locate(const yamltree_t *t, const yamltree_node_t *n, const char *needle, size_t nlen,
                     size_t occurrence, unsigned *line, unsigned *col);

#endif
