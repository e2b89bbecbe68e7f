/* fuzz_records.c - libFuzzer target: any bytes through records_parse, every error formatted. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rollcall/records.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* touch reads every byte of s, so a dangling or unterminated string trips ASan. */
static size_t touch(const char *s)
{
    return s ? strlen(s) : 0;
}

/* LLVMFuzzerTestOneInput takes the first byte as the kind (byte % 5) and the
 * format (byte / 5 odd: JSON) and parses the rest; it checks the invariants
 * records.h promises and aborts when one fails. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    records_t *r = NULL;
    char line[512];
    size_t sum = 0;

    if (size == 0)
        return 0;
    rec_kind_t kind = (rec_kind_t)(data[0] % REC__KIND_COUNT);
    rec_format_t fmt = (data[0] / REC__KIND_COUNT) % 2 ? REC_FMT_JSON : REC_FMT_CSV;
    rc_err_t err = records_parse(kind, fmt, (const char *)data + 1, size - 1, &r);
    if (err == RC_ENOMEM) {
        if (r)
            abort();
        return 0;
    }
    if (!r || r->kind != kind || r->format != fmt)
        abort();
    if ((err == RC_EPARSE) != (r->fatal != 0) || (err == RC_OK) != (r->nerrors == 0))
        abort();
    for (size_t i = 0; i < r->nerrors; i++) {
        const rec_error_t *e = &r->errors[i];
        if (memchr(e->column, '\0', sizeof e->column) == NULL ||
            memchr(e->message, '\0', sizeof e->message) == NULL || e->message[0] == '\0')
            abort();
        sum += strlen(rec_error_format(r, e, line, sizeof line));
    }
    for (size_t i = 0; i < r->n; i++) {
        const record_t *rec = &r->v[i];
        if (i > 0 && rec->row <= r->v[i - 1].row)
            abort();
        switch (kind) {
        case REC_SCHOOLS:
            sum += touch(rec->u.school.name) + touch(rec->u.school.trust_id) +
                   touch(rec->u.school.policy) + touch(rec->u.school.urn);
            if (!rec->u.school.name[0] || strlen(rec->u.school.name) > REC_MAX_NAME)
                abort();
            break;
        case REC_CALENDAR:
            if (rec->u.calendar.to < rec->u.calendar.from || rec->u.calendar.sessions == 0 ||
                rec->u.calendar.sessions > SESS_ALL)
                abort();
            break;
        case REC_PUPILS:
            sum += touch(rec->u.pupil.forename) + touch(rec->u.pupil.surname);
            if (rec->u.pupil.year_group < YEAR_GROUP_MIN ||
                rec->u.pupil.year_group > YEAR_GROUP_MAX ||
                rec->u.pupil.date_of_birth >= rec->u.pupil.on_roll_from)
                abort();
            break;
        case REC_CONTACTS:
            sum += touch(rec->u.contact.contact_id) + touch(rec->u.contact.name) +
                   touch(rec->u.contact.relationship) + touch(rec->u.contact.email) +
                   touch(rec->u.contact.mobile);
            if (rec->u.contact.priority < 1 || rec->u.contact.priority > 99)
                abort();
            break;
        default:
            if (rec->u.mark.minutes_late > 999 || (unsigned)rec->u.mark.code >= CODE__COUNT)
                abort();
            break;
        }
    }
    records_destroy(&r);
    if (r)
        abort();
    return sum == (size_t)-1; /* keeps the reads from being optimised away */
}
