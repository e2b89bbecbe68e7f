/* reports_csv.c - a small RFC 4180 writer with formula-injection defence,
 * and JSON list rows flattened into it. */
#include "reports/reports_csv.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* put appends n bytes of s. */
static void put(csv_t *c, const char *s, size_t n)
{
    if (c->oom)
        return;
    if (c->len + n + 1 > c->cap) {
        size_t cap = c->cap ? c->cap : 4096;
        while (cap < c->len + n + 1)
            cap *= 2;
        char *b = realloc(c->buf, cap);
        if (!b) {
            c->oom = 1;
            return;
        }
        c->buf = b;
        c->cap = cap;
    }
    memcpy(c->buf + c->len, s, n);
    c->len += n;
    c->buf[c->len] = '\0';
}

static void separate(csv_t *c)
{
    if (c->cells++)
        put(c, ",", 1);
}

void csv_raw(csv_t *c, const char *text)
{
    separate(c);
    put(c, text, strlen(text));
}

void csv_cell(csv_t *c, const char *text)
{
    /* A spreadsheet reads these first characters as the start of a formula. */
    int neutralise = text[0] && strchr("=+-@\t\r", text[0]) != NULL;
    int quote = strpbrk(text, ",\"\r\n") != NULL;
    separate(c);
    if (quote)
        put(c, "\"", 1);
    if (neutralise)
        put(c, "'", 1);
    for (const char *p = text; *p;) {
        size_t run = quote ? strcspn(p, "\"") : strlen(p);
        put(c, p, run);
        p += run;
        if (*p == '"') {
            put(c, "\"\"", 2);
            p++;
        }
    }
    if (quote)
        put(c, "\"", 1);
}

void csv_end_row(csv_t *c)
{
    put(c, "\r\n", 2);
    c->cells = 0;
}

/* scalar_text writes a number, boolean or string value v as text into
 * out; 0 when v is not a scalar. */
static int scalar_text(const json_t *v, csv_t *out)
{
    char num[48];
    if (json_is_string(v))
        put(out, json_string_value(v), json_string_length(v));
    else if (json_is_integer(v)) {
        snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        put(out, num, strlen(num));
    } else if (json_is_real(v)) {
        snprintf(num, sizeof num, "%.1f", json_real_value(v));
        put(out, num, strlen(num));
    } else if (json_is_boolean(v))
        put(out, json_is_true(v) ? "true" : "false", json_is_true(v) ? 4 : 5);
    else
        return json_is_null(v);
    return 1;
}

/* flatten writes an object as k=v;k=v and an array as items joined by ';'. */
static void flatten(const json_t *v, csv_t *out)
{
    const char *k;
    json_t *x, *y;
    size_t i, n = 0;
    if (json_is_object(v)) {
        json_object_foreach((json_t *)v, k, x)
        {
            if (n++)
                put(out, ";", 1);
            put(out, k, strlen(k));
            put(out, "=", 1);
            scalar_text(x, out);
        }
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, x)
        {
            if (i)
                put(out, ";", 1);
            if (!json_is_object(x)) {
                scalar_text(x, out);
                continue;
            }
            n = 0;
            json_object_foreach(x, k, y)
            {
                if (n++)
                    put(out, ":", 1);
                scalar_text(y, out);
            }
        }
    }
}

/* value_cell writes the cell for one field's value. */
static void value_cell(csv_t *c, const json_t *v)
{
    csv_t text = {0};
    if (!v || json_is_null(v)) {
        csv_raw(c, "");
        return;
    }
    if (json_is_number(v) || json_is_boolean(v)) {
        scalar_text(v, &text); /* written by us, never a formula */
        csv_raw(c, text.len ? text.buf : "");
    } else {
        if (json_is_string(v))
            scalar_text(v, &text);
        else
            flatten(v, &text);
        csv_cell(c, text.len ? text.buf : "");
    }
    if (text.oom)
        c->oom = 1;
    free(text.buf);
}

char *reports_csv_rows(const json_t *rows, const char *const *cols, size_t ncols)
{
    csv_t c = {0};
    size_t i;
    json_t *row;
    for (size_t k = 0; k < ncols; k++)
        csv_cell(&c, cols[k]);
    csv_end_row(&c);
    json_array_foreach(rows, i, row)
    {
        for (size_t k = 0; k < ncols; k++)
            value_cell(&c, json_object_get(row, cols[k]));
        csv_end_row(&c);
    }
    if (c.oom) {
        free(c.buf);
        return NULL;
    }
    return c.buf;
}
