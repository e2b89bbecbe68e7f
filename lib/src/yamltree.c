/* yamltree.c - builds the strict line:column tree the policy and template loaders read. */
#include "yamltree.h"

#include <assert.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#define JOIN_MAX 256 /* the most of a message a list of allowed keys may take */

/* ---- errors ---- */

YAMLTREE_PRINTF(5, 0)
static int vfail(yamltree_t *t, rc_err_t rc, unsigned line, unsigned col, const char *fmt,
                 va_list ap)
{
    if (t->rc != RC_OK)
        return -1;
    t->rc = rc;
    int n = snprintf(t->err, t->errmax, "%s:%u:%u: ", t->file, line, col);
    if (n >= 0 && (size_t)n < t->errmax)
        vsnprintf(t->err + n, t->errmax - (size_t)n, fmt, ap);
    return -1;
}

int yamltree_fail_at(yamltree_t *t, rc_err_t rc, unsigned line, unsigned col, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(t, rc, line, col, fmt, ap);
    va_end(ap);
    return -1;
}

int yamltree_fail(yamltree_t *t, const yamltree_node_t *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(t, RC_EINVAL, n ? n->line : 1, n ? n->col : 1, fmt, ap);
    va_end(ap);
    return -1;
}

const char *yamltree_show(yamltree_shown_t *b, const char *s, size_t len)
{
    size_t n = len > YAMLTREE_SHOW_MAX ? YAMLTREE_SHOW_MAX : len;
    if (n < len)
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--; /* do not cut a UTF-8 character in two */
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        b->s[i] = (ch < 0x20 || ch == 0x7F) ? '?' : (char)ch;
    }
    b->s[n] = '\0';
    if (n < len)
        memcpy(b->s + n, "...", 4);
    return b->s;
}

const char *yamltree_show_node(yamltree_shown_t *b, const yamltree_node_t *n)
{
    return yamltree_show(b, n->text, n->len);
}

/* ---- places in the source ---- */

/* offset_of returns the byte offset of 1-based line:col (col counted in
 * characters, as libyaml counts, and lines ended by \n, \r\n or \r), or
 * SIZE_MAX when the file has no such place. */
static size_t offset_of(const yamltree_t *t, unsigned line, unsigned col)
{
    const char *s = t->src;
    size_t i = 0, n = t->srclen;
    for (unsigned l = 1; l < line; l++) {
        while (i < n && s[i] != '\n' && s[i] != '\r')
            i++;
        if (i == n)
            return SIZE_MAX;
        i += (s[i] == '\r' && i + 1 < n && s[i + 1] == '\n') ? 2 : 1;
    }
    for (unsigned k = 1; k < col && i < n; k++) {
        if (s[i] == '\n' || s[i] == '\r')
            return SIZE_MAX;
        i++;
        while (i < n && ((unsigned char)s[i] & 0xC0) == 0x80)
            i++;
    }
    return i;
}

void yamltree_locate(const yamltree_t *t, const yamltree_node_t *n, const char *needle, size_t nlen,
                     size_t occurrence, unsigned *line, unsigned *col)
{
    *line = n->line;
    *col = n->col;
    size_t from = offset_of(t, n->line, n->col), to = offset_of(t, n->end_line, n->end_col);
    if (from == SIZE_MAX || to == SIZE_MAX || to > t->srclen || from >= to || nlen == 0)
        return;
    size_t at = SIZE_MAX;
    for (size_t i = from; i + nlen <= to; i++)
        if (memcmp(t->src + i, needle, nlen) == 0 && occurrence-- == 0) {
            at = i;
            break;
        }
    if (at == SIZE_MAX)
        return;
    unsigned l = n->line, k = n->col;
    for (size_t i = from; i < at; i++) {
        unsigned char ch = (unsigned char)t->src[i];
        if (ch == '\n' || (ch == '\r' && !(i + 1 < at && t->src[i + 1] == '\n'))) {
            l++;
            k = 1;
        } else if (ch != '\r' && (ch & 0xC0) != 0x80) {
            k++;
        }
    }
    *line = l;
    *col = k;
}

/* ---- building the tree ---- */

static yamltree_node_t *node_new(yamltree_t *t, yamltree_kind_t kind, const yaml_mark_t *m)
{
    yamltree_node_t *n = calloc(1, sizeof *n);
    if (!n) {
        yamltree_fail_at(t, RC_ENOMEM, (unsigned)m->line + 1, (unsigned)m->column + 1,
                         "out of memory");
        return NULL;
    }
    n->kind = kind;
    n->line = (unsigned)m->line + 1;
    n->col = (unsigned)m->column + 1;
    n->next = t->nodes;
    t->nodes = n;
    return n;
}

void yamltree_free(yamltree_t *t)
{
    if (!t)
        return;
    yamltree_node_t *n = t->nodes;
    while (n) {
        yamltree_node_t *next = n->next;
        free(n->text);
        free(n->kids);
        free(n);
        n = next;
    }
    t->nodes = NULL;
}

static int node_add(yamltree_t *t, yamltree_node_t *parent, yamltree_node_t *kid)
{
    if (parent->nkids == parent->cap) {
        size_t ncap = parent->cap ? parent->cap * 2 : 8;
        yamltree_node_t **k = realloc(parent->kids, ncap * sizeof *k);
        if (!k)
            return yamltree_fail_at(t, RC_ENOMEM, kid->line, kid->col, "out of memory");
        parent->kids = k;
        parent->cap = ncap;
    }
    parent->kids[parent->nkids++] = kid;
    return 0;
}

/* tab_indented is true when the line'th line of the file is indented with
 * a tab, the usual cause of libyaml's scanner errors in a file edited with
 * an editor set to tabs; libyaml's message for it is rarely about tabs. */
static int tab_indented(const yamltree_t *t, unsigned line)
{
    size_t i = offset_of(t, line, 1);
    if (i == SIZE_MAX)
        return 0;
    for (; i < t->srclen && (t->src[i] == ' ' || t->src[i] == '\t'); i++)
        if (t->src[i] == '\t')
            return 1;
    return 0;
}

/* yaml_fail reports libyaml's own error (not valid YAML at all), with what
 * to do about the usual causes. */
static int yaml_fail(yamltree_t *t, const yaml_parser_t *ps)
{
    unsigned line = (unsigned)ps->problem_mark.line + 1,
             col = (unsigned)ps->problem_mark.column + 1;
    const char *problem = ps->problem ? ps->problem : "unknown problem", *hint = "";

    if (ps->error == YAML_MEMORY_ERROR)
        return yamltree_fail_at(t, RC_ENOMEM, 1, 1, "out of memory reading the file");
    if (ps->error == YAML_READER_ERROR) {
        /* The reader reports a byte offset, not a mark. */
        line = 1;
        col = 1;
        for (size_t i = 0; i < ps->problem_offset && i < t->srclen; i++) {
            col++;
            if (t->src[i] == '\n') {
                line++;
                col = 1;
            }
        }
        return yamltree_fail_at(t, RC_EPARSE, line, col,
                                "the file is not readable text (%s); save it as UTF-8 text",
                                problem);
    }
    if (strstr(problem, "tab") || tab_indented(t, line))
        return yamltree_fail_at(t, RC_EPARSE, line, col,
                                "this line is indented with a tab character; %s files are "
                                "indented with spaces only (YAML: %s)",
                                t->words->kind, problem);
    for (const yamltree_hint_t *h = t->words->hints; h && h->problem; h++)
        if (strstr(problem, h->problem)) {
            hint = h->hint;
            break;
        }
    return yamltree_fail_at(t, RC_EPARSE, line, col, "this is not valid YAML: %s%s%s%s", problem,
                            ps->context ? " " : "", ps->context ? ps->context : "", hint);
}

/* extras refuses anchors and tags: a file is read by people, so every
 * value is written out where it applies. */
static int extras(yamltree_t *t, const yaml_event_t *ev, const yaml_char_t *anchor,
                  const yaml_char_t *tag, int scalar)
{
    const yamltree_words_t *w = t->words;
    unsigned line = (unsigned)ev->start_mark.line + 1, col = (unsigned)ev->start_mark.column + 1;
    if (anchor)
        return yamltree_fail_at(t, RC_EINVAL, line, col, "%s",
                                scalar ? w->scalar_anchor : w->collection_anchor);
    if (tag)
        return yamltree_fail_at(t, RC_EINVAL, line, col, "%s",
                                scalar ? w->scalar_tag : w->collection_tag);
    return 0;
}

/* attach adds a new node under the innermost open collection (or makes it
 * the root), refusing a list or map used as a map's key. */
static int attach(yamltree_t *t, yamltree_node_t **stack, size_t depth, yamltree_node_t **root,
                  yamltree_node_t *n)
{
    if (depth == 0) {
        *root = n;
        return 0;
    }
    yamltree_node_t *parent = stack[depth - 1];
    if (parent->kind == YAMLTREE_MAP && parent->nkids % 2 == 0 && n->kind != YAMLTREE_SCALAR)
        return yamltree_fail(t, n, "a key must be a plain name such as `%s`, not a list or a map",
                             t->words->key_example);
    return node_add(t, parent, n);
}

/* scalar builds the node for a scalar event and attaches it. */
static void scalar(yamltree_t *t, const yaml_event_t *ev, yamltree_node_t **stack, size_t depth,
                   yamltree_node_t **root)
{
    yamltree_node_t *n = node_new(t, YAMLTREE_SCALAR, &ev->start_mark);
    if (!n)
        return;
    n->end_line = (unsigned)ev->end_mark.line + 1;
    n->end_col = (unsigned)ev->end_mark.column + 1;
    if (!(n->text = malloc(ev->data.scalar.length + 1))) {
        yamltree_fail_at(t, RC_ENOMEM, n->line, n->col, "out of memory");
        return;
    }
    memcpy(n->text, ev->data.scalar.value, ev->data.scalar.length);
    n->text[ev->data.scalar.length] = '\0';
    n->len = ev->data.scalar.length;
    n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    attach(t, stack, depth, root, n);
}

int yamltree_load(yamltree_t *t, yamltree_node_t **root)
{
    const yamltree_words_t *w = t->words;
    yaml_parser_t ps;
    yaml_event_t ev;
    yamltree_node_t *stack[YAMLTREE_MAX_DEPTH];
    size_t depth = 0;
    int ndocs = 0, done = 0;

    assert(w->max_depth <= YAMLTREE_MAX_DEPTH);
    *root = NULL;
    if (!yaml_parser_initialize(&ps))
        return yamltree_fail_at(t, RC_ENOMEM, 1, 1, "out of memory");
    yaml_parser_set_input_string(&ps, (const unsigned char *)t->src, t->srclen);
    while (!done && t->rc == RC_OK) {
        if (!yaml_parser_parse(&ps, &ev)) {
            yaml_fail(t, &ps);
            break;
        }
        unsigned line = (unsigned)ev.start_mark.line + 1, col = (unsigned)ev.start_mark.column + 1;
        yamltree_node_t *n = NULL;
        int seq = ev.type == YAML_SEQUENCE_START_EVENT;
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = 1;
            break;
        case YAML_DOCUMENT_START_EVENT:
            if (++ndocs > 1)
                yamltree_fail_at(t, RC_EINVAL, line, col,
                                 "a %s file holds one %s; remove this second '---' and what "
                                 "follows it, or put it in its own file",
                                 w->kind, w->kind);
            break;
        case YAML_ALIAS_EVENT:
            yamltree_fail_at(t, RC_EINVAL, line, col, "%s", w->alias);
            break;
        case YAML_SCALAR_EVENT:
            if (extras(t, &ev, ev.data.scalar.anchor, ev.data.scalar.tag, 1) == 0)
                scalar(t, &ev, stack, depth, root);
            break;
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT:
            if (extras(t, &ev, seq ? ev.data.sequence_start.anchor : ev.data.mapping_start.anchor,
                       seq ? ev.data.sequence_start.tag : ev.data.mapping_start.tag, 0) != 0)
                break;
            if (depth == w->max_depth) {
                yamltree_fail_at(t, RC_EINVAL, line, col,
                                 "lists and maps are nested too deeply here (more than %u levels)",
                                 w->max_depth);
                break;
            }
            if (!(n = node_new(t, seq ? YAMLTREE_SEQ : YAMLTREE_MAP, &ev.start_mark)))
                break;
            if (attach(t, stack, depth, root, n) == 0)
                stack[depth++] = n;
            break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            if (depth > 0)
                depth--;
            break;
        default:
            break;
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&ps);
    return t->rc == RC_OK ? 0 : -1;
}

/* ---- reading values ---- */

int yamltree_is_null(const yamltree_node_t *n)
{
    return n->kind == YAMLTREE_SCALAR && n->plain &&
           (n->len == 0 || strcmp(n->text, "~") == 0 || strcmp(n->text, "null") == 0);
}

const char *yamltree_kind_text(const yamltree_node_t *n)
{
    switch (n->kind) {
    case YAMLTREE_MAP:
        return "a set of `key: value` lines";
    case YAMLTREE_SEQ:
        return "a list";
    default:
        return "a single value";
    }
}

int yamltree_scalar_is(const yamltree_node_t *n, const char *name)
{
    size_t l = strlen(name);
    return n->kind == YAMLTREE_SCALAR && n->len == l && memcmp(n->text, name, l) == 0;
}

const yamltree_node_t *yamltree_get(const yamltree_node_t *map, const char *key)
{
    for (size_t i = 0; i + 1 < map->nkids; i += 2)
        if (yamltree_scalar_is(map->kids[i], key))
            return map->kids[i + 1];
    return NULL;
}

const yamltree_node_t *yamltree_key_node(const yamltree_node_t *map, const char *key)
{
    for (size_t i = 0; i + 1 < map->nkids; i += 2)
        if (yamltree_scalar_is(map->kids[i], key))
            return map->kids[i];
    return NULL;
}

static int lower(int ch)
{
    return ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch;
}

/* edit_distance is the optimal-string-alignment distance (Levenshtein with
 * swapped neighbours counting as one slip), ignoring case, or UINT_MAX for
 * strings too long to be a misspelt name. */
static unsigned edit_distance(const char *a, size_t al, const char *b)
{
    enum { LONGEST = 64 };
    size_t bl = strlen(b);
    unsigned rows[3][LONGEST + 1];
    if (al > LONGEST || bl > LONGEST)
        return UINT_MAX;
    unsigned *two = rows[0], *prev = rows[1], *cur = rows[2];
    for (size_t j = 0; j <= bl; j++)
        prev[j] = (unsigned)j;
    for (size_t i = 1; i <= al; i++) {
        cur[0] = (unsigned)i;
        for (size_t j = 1; j <= bl; j++) {
            int ca = lower((unsigned char)a[i - 1]), cb = lower((unsigned char)b[j - 1]);
            unsigned best = prev[j - 1] + (ca != cb);
            if (prev[j] + 1 < best)
                best = prev[j] + 1;
            if (cur[j - 1] + 1 < best)
                best = cur[j - 1] + 1;
            if (i > 1 && j > 1 && ca == lower((unsigned char)b[j - 2]) &&
                lower((unsigned char)a[i - 2]) == cb && two[j - 2] + 1 < best)
                best = two[j - 2] + 1;
            cur[j] = best;
        }
        unsigned *tmp = two;
        two = prev;
        prev = cur;
        cur = tmp;
    }
    return prev[bl];
}

const char *yamltree_nearest(const char *s, size_t len, const char *const *names, size_t n)
{
    const char *best = NULL;
    unsigned best_d = UINT_MAX, limit = len >= 12 ? 3 : len >= 5 ? 2 : 1;
    for (size_t i = 0; i < n; i++) {
        if (!names[i])
            continue;
        unsigned d = edit_distance(s, len, names[i]);
        if (d < best_d) {
            best_d = d;
            best = names[i];
        }
    }
    return best_d <= limit ? best : NULL;
}

size_t yamltree_count_names(const char *const *names)
{
    size_t n = 0;
    while (names[n])
        n++;
    return n;
}

const char *yamltree_join(const char *const *names, size_t n, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (!names[i])
            continue;
        int w = snprintf(buf + used, size - used, "%s%s", used ? ", " : "", names[i]);
        if (w < 0 || (size_t)w >= size - used)
            break;
        used += (size_t)w;
    }
    return buf;
}

int yamltree_check_keys(yamltree_t *t, const yamltree_node_t *map, const char *const *allowed,
                        const char *where)
{
    size_t nallowed = yamltree_count_names(allowed);
    for (size_t i = 0; i + 1 < map->nkids; i += 2) {
        const yamltree_node_t *k = map->kids[i];
        yamltree_shown_t sh;
        size_t a;
        for (a = 0; a < nallowed; a++)
            if (yamltree_scalar_is(k, allowed[a]))
                break;
        if (a == nallowed) {
            /* Half the message at most, as each loader always allowed. */
            char all[JOIN_MAX];
            size_t cap = t->errmax / 2 < sizeof all ? t->errmax / 2 : sizeof all;
            const char *near = yamltree_nearest(k->text, k->len, allowed, nallowed);
            if (near)
                return yamltree_fail(t, k, "unknown key \"%s\" in %s; did you mean \"%s\"?",
                                     yamltree_show_node(&sh, k), where, near);
            return yamltree_fail(t, k, "unknown key \"%s\" in %s; the keys allowed here are: %s",
                                 yamltree_show_node(&sh, k), where,
                                 yamltree_join(allowed, nallowed, all, cap));
        }
        for (size_t j = 0; j < i; j += 2)
            if (yamltree_scalar_is(map->kids[j], allowed[a]))
                return yamltree_fail(t, k,
                                     "`%s` is written twice in %s (first on line %u); keep one",
                                     allowed[a], where, map->kids[j]->line);
    }
    return 0;
}
