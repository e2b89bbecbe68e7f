/* reports_letters.c - the school's letters to print: notify renders each
 * letter a policy asks for into its message and files its key in
 * rn:letters:{urn} by date; this lists them newest first, a page at a time,
 * with the text to print (or to mail-merge from the CSV). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reports/reports_lists.h"
#include "reports/reports_util.h"

/* The fields of a letter's message, in the order letters_rows asks for them. */
enum { F_DATE, F_UPNS, F_NAME, F_TEMPLATE, F_SUBJECT, F_LETTER, F_STATE, NFIELDS };

static json_t *letter_row(const char *key, redisReply *const *msg, const redisReply *pupil)
{
    json_t *o = json_pack("{s:s}", "key", key);
    if (!o)
        return NULL;
    reports_set_str(o, "date", msg[F_DATE]);
    const char *upns = reports_str(msg[F_UPNS]);
    char first[RC_UPN_LEN + 1] = "";
    if (upns)
        snprintf(first, sizeof first, "%.*s", (int)strcspn(upns, ","), upns);
    json_object_set_new(o, "upn", first[0] ? json_string(first) : json_null());
    json_object_set_new(o, "upns", upns ? json_string(upns) : json_null());
    reports_set_str(o, "forename", pupil->element[0]);
    reports_set_str(o, "surname", pupil->element[1]);
    reports_set_int(o, "year_group", pupil->element[2]);
    reports_set_str(o, "addressee", msg[F_NAME]);
    reports_set_str(o, "template", msg[F_TEMPLATE]);
    reports_set_str(o, "subject", msg[F_SUBJECT]);
    /* Filed for printing once rendered ("sent"), "failed" when it could not be. */
    reports_set_str(o, "state", msg[F_STATE]);
    reports_set_str(o, "letter", msg[F_LETTER]);
    return o;
}

/* letters_rows reads the rows of the letter keys k[0..n) of school urn:
 * one pipeline for the messages, one for their first pupils' names. */
static rc_err_t letters_rows(redisContext *rd, const char *urn, redisReply *const *k, size_t n,
                             json_t *rows)
{
    redisReply **m = calloc(n + 1, sizeof *m), **p = calloc(n + 1, sizeof *p);
    rc_err_t rc = RC_ENOMEM;
    if (!m || !p)
        goto out;
    for (size_t i = 0; i < n; i++)
        redisAppendCommand(rd, "HMGET rn:msg:{%s}:%s date upns name template subject letter state",
                           urn, k[i]->str);
    if ((rc = reports_replies(rd, m, n)) != RC_OK)
        goto out;
    for (size_t i = 0; i < n; i++) {
        const char *upns = m[i]->type == REDIS_REPLY_ARRAY && m[i]->elements == NFIELDS
                               ? reports_str(m[i]->element[F_UPNS])
                               : NULL;
        char first[RC_UPN_LEN + 1] = "";
        if (upns) /* hiredis formats no precision: cut the first UPN here */
            snprintf(first, sizeof first, "%.*s", (int)strcspn(upns, ","), upns);
        redisAppendCommand(rd, "HMGET rc:pupil:{%s}:%s forename surname year_group", urn, first);
    }
    if ((rc = reports_replies(rd, p, n)) != RC_OK)
        goto out;
    rc = RC_OK;
    for (size_t i = 0; i < n && rc == RC_OK; i++) {
        if (m[i]->type != REDIS_REPLY_ARRAY || m[i]->elements != NFIELDS ||
            p[i]->type != REDIS_REPLY_ARRAY || p[i]->elements != 3) {
            rc = RC_EIO;
            break;
        }
        json_t *row = letter_row(k[i]->str, m[i]->element, p[i]);
        if (!row || json_array_append_new(rows, row))
            rc = RC_ENOMEM;
    }
out:
    if (m)
        reports_free_replies(m, n);
    if (p)
        reports_free_replies(p, n);
    free(m);
    free(p);
    return rc;
}

rc_err_t reports_list_letters(redisContext *rd, const char *urn, const reports_query_t *q,
                              json_t **rows, size_t *total, char why[REPORTS_WHY_MAX])
{
    char min[16] = "-inf";
    (void)why;
    *rows = NULL;
    *total = 0;
    if (q->since != RC_DATE_NONE)
        snprintf(min, sizeof min, "%d", (int)date_to_number(q->since));
    /* Newest first; the same date in key order, so pages are stable. */
    redisReply *c = redisCommand(rd, "ZCOUNT rn:letters:{%s} %s +inf", urn, min);
    if (!c || c->type != REDIS_REPLY_INTEGER) {
        freeReplyObject(c);
        return RC_EIO;
    }
    *total = (size_t)c->integer;
    freeReplyObject(c);
    if (!(*rows = json_array()))
        return RC_ENOMEM;
    if (q->offset >= *total)
        return RC_OK;
    size_t want = *total - q->offset < q->limit ? *total - q->offset : q->limit;
    redisReply *k = redisCommand(rd, "ZREVRANGEBYSCORE rn:letters:{%s} +inf %s LIMIT %llu %llu",
                                 urn, min, (unsigned long long)q->offset, (unsigned long long)want);
    rc_err_t rc = RC_EIO;
    if (k && k->type == REDIS_REPLY_ARRAY) {
        rc = RC_OK;
        for (size_t i = 0; i < k->elements && rc == RC_OK; i++)
            if (!reports_str(k->element[i]))
                rc = RC_EIO;
        if (rc == RC_OK && k->elements)
            rc = letters_rows(rd, urn, k->element, k->elements, *rows);
    }
    freeReplyObject(k);
    if (rc != RC_OK) {
        json_decref(*rows);
        *rows = NULL;
    }
    return rc;
}
