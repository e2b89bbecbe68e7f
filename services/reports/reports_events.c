/* reports_events.c - the lists read from rules' outbox: referrals (of a
 * school, of an LA's schools) and the day's first-day absences with the
 * messages notify sent. An index (rs:refs, rs:alerts) names the outbox
 * entries; they are read in one pipelined round trip. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reports/reports_lists.h"
#include "reports/reports_util.h"
#include "rollcall/log.h"

/* One outbox entry to read: the school and the entry's position. */
typedef struct {
    const char *urn, *seq;
    const char *school_name; /* NULL unless the rows want it */
} entry_t;

/* An event read, kept for sorting. */
typedef struct {
    json_t *row;
    rc_date_t date;
    const char *urn;
    unsigned long long seq;
} found_t;

/* Newest first: by date, then school, then position in the outbox. */
static int newest_first(const void *pa, const void *pb)
{
    const found_t *a = pa, *b = pb;
    if (a->date != b->date)
        return a->date > b->date ? -1 : 1;
    int c = strcmp(a->urn, b->urn);
    if (c)
        return c;
    return a->seq > b->seq ? -1 : a->seq < b->seq;
}

/* referral_row describes referral event m of entry e. */
static json_t *referral_row(const entry_t *e, const wire_msg_t *m)
{
    const pupil_event_t *ev = &m->u.event;
    char d[RC_DATE_STRLEN];
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:I}", "urn", e->urn, "upn", ev->upn, "kind",
                          referral_kind_name(ev->referral), "date", date_format(ev->date, d),
                          "reason", ev->reason, "event_id", m->event_id, "seq",
                          (json_int_t)strtoull(e->seq, NULL, 10));
    if (o && ev->track[0])
        json_object_set_new(o, "track", json_string(ev->track));
    if (o && e->school_name)
        json_object_set_new(o, "school_name", json_string(e->school_name));
    return o;
}

/* read_referrals reads entries e[0..n) and appends the rows of the
 * referrals q asks for to *found (count *nfound). */
static rc_err_t read_referrals(redisContext *rd, const entry_t *e, size_t n,
                               const reports_query_t *q, found_t *found, size_t *nfound)
{
    redisReply **r = calloc(n + 1, sizeof *r);
    rc_err_t rc;
    if (!r)
        return RC_ENOMEM;
    for (size_t i = 0; i < n; i++)
        redisAppendCommand(rd, "XRANGE rs:outbox:{%s} %s-0 %s-0", e[i].urn, e[i].seq, e[i].seq);
    if ((rc = reports_replies(rd, r, n)) != RC_OK)
        goto out;
    for (size_t i = 0; i < n && rc == RC_OK; i++) {
        wire_msg_t m;
        if (!reports_decode_event(r[i], e[i].urn, e[i].seq, &m) ||
            m.u.event.kind != EVENT_REFERRAL ||
            (q->kind != REFERRAL_NONE && m.u.event.referral != q->kind) ||
            (q->since != RC_DATE_NONE && m.u.event.date < q->since))
            continue;
        found_t *f = &found[(*nfound)++];
        *f = (found_t){referral_row(&e[i], &m), m.u.event.date, e[i].urn,
                       strtoull(e[i].seq, NULL, 10)};
        if (!f->row)
            rc = RC_ENOMEM;
    }
    reports_free_replies(r, n);
out:
    free(r);
    return rc;
}

/* sorted_rows sorts found[0..n) newest first into a new array, taking the
 * rows (every row is released, whatever happens). */
static json_t *sorted_rows(found_t *found, size_t n)
{
    json_t *rows = json_array();
    qsort(found, n, sizeof *found, newest_first);
    for (size_t i = 0; i < n; i++)
        if (!rows || json_array_append(rows, found[i].row)) {
            json_decref(rows);
            rows = NULL;
        }
    for (size_t i = 0; i < n; i++)
        json_decref(found[i].row);
    return rows;
}

/* referrals_of reads the referrals of entries e[0..n), sorted and paged. */
static rc_err_t referrals_of(redisContext *rd, const entry_t *e, size_t n, const reports_query_t *q,
                             json_t **rows, size_t *total)
{
    found_t *found = calloc(n + 1, sizeof *found);
    size_t nfound = 0;
    rc_err_t rc = found ? read_referrals(rd, e, n, q, found, &nfound) : RC_ENOMEM;
    *rows = found ? sorted_rows(found, nfound) : NULL;
    free(found);
    if (rc == RC_OK && !*rows)
        rc = RC_ENOMEM;
    if (rc == RC_OK)
        rc = reports_page(rows, q, total);
    if (rc != RC_OK) {
        json_decref(*rows);
        *rows = NULL;
    }
    return rc;
}

/* append_entries adds the positions of list reply l of school urn to e. */
static void append_entries(entry_t *e, size_t *n, const redisReply *l, const char *urn,
                           const char *school_name)
{
    for (size_t i = 0; l->type == REDIS_REPLY_ARRAY && i < l->elements; i++)
        if (reports_str(l->element[i]))
            e[(*n)++] = (entry_t){urn, l->element[i]->str, school_name};
}

rc_err_t reports_list_referrals(redisContext *rd, const char *urn, const reports_query_t *q,
                                json_t **rows, size_t *total, char why[REPORTS_WHY_MAX])
{
    redisReply *l = redisCommand(rd, "LRANGE rs:refs:{%s} 0 -1", urn);
    entry_t *e = NULL;
    size_t n = 0;
    rc_err_t rc = RC_EIO;
    (void)why;
    *rows = NULL;
    *total = 0;
    if (!l || l->type != REDIS_REPLY_ARRAY)
        goto out;
    rc = RC_ENOMEM;
    if (!(e = calloc(l->elements + 1, sizeof *e)))
        goto out;
    append_entries(e, &n, l, urn, NULL);
    rc = referrals_of(rd, e, n, q, rows, total);
out:
    free(e);
    freeReplyObject(l);
    return rc;
}

/* la_schools reads the LA's schools into *m (SMEMBERS), checking that
 * q->urn, when given, is one of them. */
static rc_err_t la_schools(redisContext *rd, const char *la, const reports_query_t *q,
                           redisReply **m, char why[REPORTS_WHY_MAX])
{
    *m = redisCommand(rd, "SMEMBERS rc:la:%s", la);
    if (!*m || (*m)->type != REDIS_REPLY_ARRAY)
        return RC_EIO;
    if ((*m)->elements == 0)
        return RC_ENOTFOUND;
    for (size_t i = 0; i < (*m)->elements; i++)
        if (!reports_str((*m)->element[i]))
            return RC_EIO;
        else if (q->urn[0] && strcmp((*m)->element[i]->str, q->urn) == 0)
            return RC_OK;
    if (!q->urn[0])
        return RC_OK;
    snprintf(why, REPORTS_WHY_MAX, "urn: %s is not a school of LA %s", q->urn, la);
    return RC_EINVAL;
}

rc_err_t reports_list_la_referrals(redisContext *rd, const char *la, const reports_query_t *q,
                                   json_t **rows, size_t *total, char why[REPORTS_WHY_MAX])
{
    redisReply *m = NULL, **r = NULL;
    entry_t *e = NULL;
    size_t ns = 0, n = 0, ne = 0;
    rc_err_t rc;
    *rows = NULL;
    *total = 0;
    if ((rc = la_schools(rd, la, q, &m, why)) != RC_OK)
        goto out;
    ns = m->elements;
    rc = RC_ENOMEM;
    if (!(r = calloc(2 * ns + 1, sizeof *r)))
        goto out;
    for (size_t i = 0; i < ns; i++) {
        redisAppendCommand(rd, "LRANGE rs:refs:{%s} 0 -1", m->element[i]->str);
        redisAppendCommand(rd, "HGET rc:school:{%s} name", m->element[i]->str);
    }
    if ((rc = reports_replies(rd, r, 2 * ns)) != RC_OK)
        goto out;
    n = 2 * ns;
    for (size_t i = 0; i < ns; i++)
        ne += r[2 * i]->type == REDIS_REPLY_ARRAY ? r[2 * i]->elements : 0;
    rc = RC_ENOMEM;
    if (!(e = calloc(ne + 1, sizeof *e)))
        goto out;
    ne = 0;
    for (size_t i = 0; i < ns; i++) {
        const char *urn = m->element[i]->str, *name = reports_str(r[2 * i + 1]);
        if (!q->urn[0] || strcmp(urn, q->urn) == 0)
            append_entries(e, &ne, r[2 * i], urn, name ? name : "");
    }
    rc = referrals_of(rd, e, ne, q, rows, total);
out:
    free(e);
    if (r)
        reports_free_replies(r, n);
    free(r);
    freeReplyObject(m);
    return rc;
}

/* ---- first-day absences ---- */

/* seq_in is true when seq is one of the comma-separated seqs. */
static int seq_in(const char *seqs, const char *seq)
{
    size_t l = strlen(seq);
    for (const char *p = seqs; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
        if (strncmp(p, seq, l) == 0 && (p[l] == ',' || p[l] == '\0'))
            return 1;
    return 0;
}

#define KEY_MAX 72

/* One message named in a pupil's audit: the row it may belong to, its key
 * and the time of its latest audit entry. */
typedef struct {
    size_t row;
    char key[KEY_MAX], at[24];
} audited_t;

/* audit_split splits "<at_us>:<status>:rc-<urn>-<key>"; 0 when not one. */
static int audit_split(const char *entry, const char *urn, audited_t *out)
{
    const char *c1 = strchr(entry, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    char prefix[16];
    snprintf(prefix, sizeof prefix, "rc-%s-", urn);
    if (!c1 || !c2 || (size_t)(c1 - entry) >= sizeof out->at ||
        strncmp(c2 + 1, prefix, strlen(prefix)) != 0 || strlen(c2 + 1) >= KEY_MAX + strlen(prefix))
        return 0;
    snprintf(out->at, sizeof out->at, "%.*s", (int)(c1 - entry), entry);
    snprintf(out->key, sizeof out->key, "%s", c2 + 1 + strlen(prefix));
    return 1;
}

/* collect_audit adds the messages of audit list a (row `row`) to au,
 * each once, with the time of its latest entry. */
static void collect_audit(const redisReply *a, const char *urn, size_t row, audited_t *au,
                          size_t *n)
{
    size_t first = *n;
    for (size_t i = 0; a->type == REDIS_REPLY_ARRAY && i < a->elements; i++) {
        audited_t x = {.row = row};
        const char *s = reports_str(a->element[i]);
        if (!s || !audit_split(s, urn, &x))
            continue;
        size_t k = first;
        while (k < *n && strcmp(au[k].key, x.key) != 0)
            k++;
        au[k] = x; /* a later entry of the same message replaces the time */
        if (k == *n)
            (*n)++;
    }
}

/* message_json is message m (HMGET channel contact state event seqs) as
 * a row's message. */
static json_t *message_json(const redisReply *m, const char *at_us)
{
    char iso[RC_TIME_STRLEN];
    json_t *o = json_object();
    if (!o)
        return NULL;
    reports_set_str(o, "channel", m->element[0]);
    reports_set_str(o, "contact_id", m->element[1]);
    reports_set_str(o, "status", m->element[2]);
    json_object_set_new(o, "at",
                        json_string(time_format_iso((rc_time_t)strtoll(at_us, NULL, 10), 0, iso)));
    return o;
}

/* belongs is true when message m is about the event of row. */
static int belongs(const redisReply *m, const json_t *row)
{
    char seq[24];
    const char *ev = json_string_value(json_object_get(row, "event_id"));
    const char *mev = reports_str(m->element[3]);
    snprintf(seq, sizeof seq, "%" JSON_INTEGER_FORMAT,
             json_integer_value(json_object_get(row, "seq")));
    return (mev && ev && strcmp(mev, ev) == 0) || seq_in(reports_str(m->element[4]), seq);
}

/* messages_read reads the messages au[0..n) in one round trip and adds
 * each to its row's messages when it is about the row's event. */
static rc_err_t messages_read(redisContext *rd, const char *urn, json_t *rows, const audited_t *au,
                              size_t n)
{
    redisReply **r = calloc(n + 1, sizeof *r);
    rc_err_t rc;
    if (!r)
        return RC_ENOMEM;
    for (size_t i = 0; i < n; i++)
        redisAppendCommand(rd, "HMGET rn:msg:{%s}:%s channel contact state event seqs", urn,
                           au[i].key);
    if ((rc = reports_replies(rd, r, n)) == RC_OK) {
        for (size_t i = 0; i < n && rc == RC_OK; i++) {
            json_t *row = json_array_get(rows, au[i].row);
            if (r[i]->type != REDIS_REPLY_ARRAY || r[i]->elements != 5 ||
                !reports_str(r[i]->element[2]) || !belongs(r[i], row))
                continue;
            if (json_array_append_new(json_object_get(row, "messages"),
                                      message_json(r[i], au[i].at)))
                rc = RC_ENOMEM;
        }
        reports_free_replies(r, n);
    }
    free(r);
    return rc;
}

/* first_day_people fills each row's names and messages: two round trips. */
static rc_err_t first_day_people(redisContext *rd, const char *urn, json_t *rows)
{
    size_t n = json_array_size(rows), i, na = 0, cap = 0;
    redisReply **r = calloc(2 * n + 1, sizeof *r);
    audited_t *au = NULL;
    json_t *row;
    rc_err_t rc;
    if (!r)
        return RC_ENOMEM;
    json_array_foreach(rows, i, row)
    {
        const char *upn = json_string_value(json_object_get(row, "upn"));
        redisAppendCommand(rd, "HMGET rc:pupil:{%s}:%s forename surname year_group", urn, upn);
        redisAppendCommand(rd, "LRANGE rn:audit:{%s}:%s 0 -1", urn, upn);
    }
    if ((rc = reports_replies(rd, r, 2 * n)) != RC_OK)
        goto out;
    for (i = 0; i < n; i++)
        cap += r[2 * i + 1]->type == REDIS_REPLY_ARRAY ? r[2 * i + 1]->elements : 0;
    rc = RC_ENOMEM;
    if (!(au = calloc(cap + 1, sizeof *au)))
        goto out;
    json_array_foreach(rows, i, row)
    {
        const redisReply *ref = r[2 * i];
        int ok = ref->type == REDIS_REPLY_ARRAY && ref->elements == 3;
        reports_set_str(row, "forename", ok ? ref->element[0] : NULL);
        reports_set_str(row, "surname", ok ? ref->element[1] : NULL);
        reports_set_int(row, "year_group", ok ? ref->element[2] : NULL);
        json_object_set_new(row, "messages", json_array());
        collect_audit(r[2 * i + 1], urn, i, au, &na);
    }
    rc = messages_read(rd, urn, rows, au, na);
out:
    free(au);
    reports_free_replies(r, 2 * n);
    free(r);
    return rc;
}

/* first_day_row describes first-day absence alert m at position seq. */
static json_t *first_day_row(const wire_msg_t *m, const char *seq)
{
    char d[RC_DATE_STRLEN];
    const pupil_event_t *ev = &m->u.event;
    /* The session still coded N when the alert was raised; null from events
     * written before alerts carried it. */
    json_t *session = ev->session == SESSION_AM   ? json_string("AM")
                      : ev->session == SESSION_PM ? json_string("PM")
                                                  : json_null();
    return json_pack("{s:s,s:s,s:o,s:s,s:s,s:I}", "upn", ev->upn, "date", date_format(ev->date, d),
                     "session", session, "reason", ev->reason, "event_id", m->event_id, "seq",
                     (json_int_t)strtoull(seq, NULL, 10));
}

/* first_day_alerts reads the alerts of list reply l, keeping the first-day
 * absences as rows. */
static rc_err_t first_day_alerts(redisContext *rd, const char *urn, const redisReply *l,
                                 json_t *rows)
{
    size_t n = l->elements;
    redisReply **r = calloc(n + 1, sizeof *r);
    rc_err_t rc;
    if (!r)
        return RC_ENOMEM;
    for (size_t i = 0; i < n; i++)
        redisAppendCommand(rd, "XRANGE rs:outbox:{%s} %s-0 %s-0", urn,
                           reports_str(l->element[i]) ? l->element[i]->str : "0",
                           reports_str(l->element[i]) ? l->element[i]->str : "0");
    if ((rc = reports_replies(rd, r, n)) == RC_OK) {
        for (size_t i = 0; i < n && rc == RC_OK; i++) {
            wire_msg_t m;
            const char *seq = reports_str(l->element[i]) ? l->element[i]->str : "0";
            if (!reports_decode_event(r[i], urn, seq, &m) || m.u.event.kind != EVENT_ALERT ||
                m.u.event.alert != ALERT_FIRST_DAY_ABSENCE)
                continue;
            if (json_array_append_new(rows, first_day_row(&m, seq)))
                rc = RC_ENOMEM;
        }
        reports_free_replies(r, n);
    }
    free(r);
    return rc;
}

/* school_today reads the school's date as rules last moved it. */
static rc_err_t school_today(redisContext *rd, const char *urn, rc_date_t *today)
{
    redisReply *r = redisCommand(rd, "HGET rs:school:{%s} today", urn);
    const char *s = reports_str(r);
    *today = RC_DATE_NONE;
    if (!r || (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_NIL)) {
        freeReplyObject(r);
        return RC_EIO;
    }
    if (s && date_parse(s, strlen(s), today) != RC_OK)
        *today = RC_DATE_NONE;
    freeReplyObject(r);
    return RC_OK;
}

rc_err_t reports_list_first_day(redisContext *rd, const char *urn, const reports_query_t *q,
                                json_t **rows, size_t *total, char why[REPORTS_WHY_MAX])
{
    redisReply *l = NULL;
    rc_date_t date = q->date;
    char d[RC_DATE_STRLEN];
    rc_err_t rc;
    (void)why;
    *total = 0;
    if (!(*rows = json_array()))
        return RC_ENOMEM;
    if (date == RC_DATE_NONE && (rc = school_today(rd, urn, &date)) != RC_OK)
        goto out;
    rc = RC_OK;
    if (date == RC_DATE_NONE) /* rules has not started the school's year */
        goto out;
    l = redisCommand(rd, "LRANGE rs:alerts:{%s}:%s 0 -1", urn, date_format(date, d));
    rc = RC_EIO;
    if (!l || l->type != REDIS_REPLY_ARRAY)
        goto out;
    if ((rc = first_day_alerts(rd, urn, l, *rows)) != RC_OK ||
        (rc = reports_page(rows, q, total)) != RC_OK)
        goto out;
    rc = first_day_people(rd, urn, *rows);
out:
    if (rc != RC_OK) {
        json_decref(*rows);
        *rows = NULL;
    }
    freeReplyObject(l);
    return rc;
}
