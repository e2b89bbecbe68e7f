/* refdata.c - reading back the reference data ingest stored. */
#include "common/refdata.h"

#include <stdio.h>
#include <string.h>

char *refdata_cal_row(const calendar_rec_t *row, char buf[REFDATA_CAL_ROW_MAX])
{
    char from[RC_DATE_STRLEN], to[RC_DATE_STRLEN];
    snprintf(buf, REFDATA_CAL_ROW_MAX, "%s|%s|%s|%u", row->kind == CAL_TERM ? "term" : "closure",
             date_format(row->from, from), date_format(row->to, to), row->sessions & SESS_ALL);
    return buf;
}

rc_err_t refdata_cal_apply(calendar_t *cal, const char *row)
{
    char kind[16], from[16], to[16];
    unsigned mask;
    rc_date_t f, t;
    if (sscanf(row, "%15[a-z]|%15[0-9-]|%15[0-9-]|%u", kind, from, to, &mask) != 4 ||
        date_parse(from, strlen(from), &f) != RC_OK || date_parse(to, strlen(to), &t) != RC_OK)
        return RC_EPARSE;
    if (strcmp(kind, "term") == 0)
        return calendar_add_term(cal, f, t);
    if (strcmp(kind, "closure") == 0)
        return calendar_add_closure(cal, f, t, mask);
    return RC_EPARSE;
}

rc_err_t refdata_load_calendar(redisContext *redis, const char *urn, calendar_t **out)
{
    redisReply *r = redisCommand(redis, "SMEMBERS rc:cal:{%s}", urn);
    rc_err_t err = RC_EIO;
    *out = NULL;
    if (!r || r->type != REDIS_REPLY_ARRAY)
        goto out;
    err = RC_ENOMEM;
    if (!(*out = calendar_new()))
        goto out;
    /* A row that no longer parses is skipped: ingest wrote it, and one bad
     * row must not close a school's whole calendar. */
    for (size_t i = 0; i < r->elements; i++)
        if (r->element[i]->type == REDIS_REPLY_STRING)
            refdata_cal_apply(*out, r->element[i]->str);
    err = RC_OK;
out:
    freeReplyObject(r);
    return err;
}
