/* test_records.c - the five SPEC section 4 inputs read from CSV and JSON, and their errors. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rollcall/records.h"

/* parse reads s and checks the return code; the caller destroys the result. */
static records_t *parse(rec_kind_t kind, rec_format_t fmt, const char *s, rc_err_t want)
{
    records_t *r = NULL;
    rc_err_t err = records_parse(kind, fmt, s, strlen(s), &r);
    cr_assert_not_null(r, "records_parse returned %d and no records", err);
    cr_assert_eq(err, want, "records_parse returned %d, wanted %d; first error: %s", err, want,
                 r->nerrors ? r->errors[0].message : "(none)");
    return r;
}

static records_t *csv(rec_kind_t kind, const char *s, rc_err_t want)
{
    return parse(kind, REC_FMT_CSV, s, want);
}

static records_t *json(rec_kind_t kind, const char *s, rc_err_t want)
{
    return parse(kind, REC_FMT_JSON, s, want);
}

/* error_at returns the first error on row with column col, failing the test
 * when there is none. */
static const rec_error_t *error_at(const records_t *r, size_t row, const char *col)
{
    for (size_t i = 0; i < r->nerrors; i++)
        if (r->errors[i].row == row && strcmp(r->errors[i].column, col) == 0)
            return &r->errors[i];
    char all[2048] = "";
    for (size_t i = 0; i < r->nerrors && strlen(all) < 1500; i++) {
        char one[300];
        snprintf(one, sizeof one, "[%zu '%s' %s] ", r->errors[i].row, r->errors[i].column,
                 r->errors[i].message);
        strncat(all, one, sizeof all - strlen(all) - 1);
    }
    cr_assert_fail("no error at row %zu column '%s'; errors: %s", row, col, all);
    return NULL;
}

static void assert_says(const rec_error_t *e, const char *needle)
{
    cr_assert(strstr(e->message, needle) != NULL, "message \"%s\" lacks \"%s\"", e->message,
              needle);
}

static rc_date_t ymd(int y, int m, int d)
{
    return date_from_ymd(y, m, d);
}

#define SCHOOLS_HDR "urn,name,la_code,trust_id,policy\n"
#define CAL_HDR     "urn,kind,from,to,session\n"
#define PUPILS_HDR                                                                                 \
    "urn,upn,forename,surname,year_group,date_of_birth,on_roll_from,on_roll_to,sen,fsm,eal,cla,"   \
    "social_worker\n"
#define CONTACTS_HDR                                                                               \
    "upn,contact_id,name,relationship,parental_responsibility,mobile,email,priority\n"
#define MARKS_HDR "urn,upn,date,session,code,minutes_late,recorded_at\n"

/* Valid UPNs: the check letter is computed by upn_check_letter. */
#define UPN1     "B801200005001"
#define UPN2     "Q801200005002"
#define UPN_TEMP "M80120000500A"

/* ---- each kind, CSV and JSON ---- */

Test(records, schools_csv)
{
    records_t *r = csv(REC_SCHOOLS,
                       SCHOOLS_HDR "100123,St Mary's C of E Primary,202,TR01234,002_lowther\n"
                                   "100124,Hill View Academy,938,,000_default\n",
                       RC_OK);
    cr_assert_eq(r->kind, REC_SCHOOLS);
    cr_assert_eq(r->format, REC_FMT_CSV);
    cr_assert_eq(r->n, 2);
    cr_assert_eq(r->nerrors, 0);
    cr_assert_eq(r->fatal, 0);
    const school_rec_t *s = &r->v[0].u.school;
    cr_assert_eq(r->v[0].row, 2);
    cr_assert_str_eq(s->urn, "100123");
    cr_assert_str_eq(s->name, "St Mary's C of E Primary");
    cr_assert_str_eq(s->la_code, "202");
    cr_assert_str_eq(s->trust_id, "TR01234");
    cr_assert_str_eq(s->policy, "002_lowther");
    s = &r->v[1].u.school;
    cr_assert_eq(r->v[1].row, 3);
    cr_assert_str_eq(s->urn, "100124");
    cr_assert_str_eq(s->trust_id, "");
    cr_assert_str_eq(s->policy, "000_default");
    records_destroy(&r);
    cr_assert_null(r);
    records_destroy(&r); /* a second destroy is harmless */
}

Test(records, schools_phone_column_is_optional)
{
    records_t *r = csv(REC_SCHOOLS,
                       "urn,name,la_code,trust_id,policy,phone\n"
                       "100123,A,202,,p,01632 960123\n100124,B,202,,p,\n",
                       RC_OK);
    cr_assert_eq(r->n, 2);
    cr_assert_str_eq(r->v[0].u.school.phone, "01632 960123");
    cr_assert_str_eq(r->v[1].u.school.phone, "");
    records_destroy(&r);
    r = csv(REC_SCHOOLS, SCHOOLS_HDR "100123,A,202,,p\n", RC_OK);
    cr_assert_eq(r->n, 1, "a file without the column is fine");
    cr_assert_str_eq(r->v[0].u.school.phone, "");
    records_destroy(&r);
    r = csv(REC_SCHOOLS, "urn,name,la_code,trust_id,policy,phone\n100123,A,202,,p,call Sam\n",
            RC_EINVAL);
    cr_assert_eq(r->n, 0);
    cr_assert_eq(r->nerrors, 1);
    cr_assert_str_eq(r->errors[0].column, "phone");
    records_destroy(&r);
}

Test(records, schools_json)
{
    records_t *r = json(REC_SCHOOLS,
                        "[{\"urn\":\"100123\",\"name\":\"St Mary's\",\"la_code\":\"202\","
                        "\"trust_id\":\"TR01234\",\"policy\":\"002_lowther\"},"
                        " {\"urn\":\"100124\",\"name\":\"Hill View\",\"la_code\":\"938\","
                        "\"trust_id\":null,\"policy\":\"000_default\"},"
                        " {\"urn\":\"100125\",\"name\":\"Dale\",\"la_code\":\"938\","
                        "\"policy\":\"000_default\"}]",
                        RC_OK);
    cr_assert_eq(r->format, REC_FMT_JSON);
    cr_assert_eq(r->n, 3);
    cr_assert_eq(r->v[0].row, 0);
    cr_assert_str_eq(r->v[0].u.school.name, "St Mary's");
    cr_assert_str_eq(r->v[0].u.school.trust_id, "TR01234");
    cr_assert_eq(r->v[1].row, 1);
    cr_assert_str_eq(r->v[1].u.school.trust_id, "");
    cr_assert_str_eq(r->v[2].u.school.urn, "100125");
    cr_assert_str_eq(r->v[2].u.school.trust_id, "");
    records_destroy(&r);
}

Test(records, calendar_csv)
{
    records_t *r = csv(REC_CALENDAR,
                       CAL_HDR "100123,term,2026-09-02,2026-10-23,\n"
                               "100123,closure,2026-09-21,2026-09-21,PM\n"
                               "100123,closure,2026-10-05,2026-10-06,ALL\n"
                               "100123,term,2026-11-02,2026-12-18,ALL\n",
                       RC_OK);
    cr_assert_eq(r->n, 4);
    const calendar_rec_t *c = &r->v[0].u.calendar;
    cr_assert_str_eq(c->urn, "100123");
    cr_assert_eq(c->kind, CAL_TERM);
    cr_assert_eq(c->from, ymd(2026, 9, 2));
    cr_assert_eq(c->to, ymd(2026, 10, 23));
    cr_assert_eq(c->sessions, SESS_ALL);
    c = &r->v[1].u.calendar;
    cr_assert_eq(c->kind, CAL_CLOSURE);
    cr_assert_eq(c->from, ymd(2026, 9, 21));
    cr_assert_eq(c->sessions, SESS_PM);
    c = &r->v[2].u.calendar;
    cr_assert_eq(c->sessions, SESS_ALL);
    cr_assert_eq(c->to, ymd(2026, 10, 6));
    cr_assert_eq(r->v[3].u.calendar.sessions, SESS_ALL);
    records_destroy(&r);
}

Test(records, calendar_json)
{
    records_t *r = json(REC_CALENDAR,
                        "[{\"urn\":\"100123\",\"kind\":\"term\",\"from\":\"2026-09-02\","
                        "\"to\":\"2026-10-23\"},"
                        "{\"urn\":\"100123\",\"kind\":\"closure\",\"from\":\"2026-09-21\","
                        "\"to\":\"2026-09-21\",\"session\":\"AM\"}]",
                        RC_OK);
    cr_assert_eq(r->n, 2);
    cr_assert_eq(r->v[0].u.calendar.kind, CAL_TERM);
    cr_assert_eq(r->v[0].u.calendar.sessions, SESS_ALL);
    cr_assert_eq(r->v[1].u.calendar.kind, CAL_CLOSURE);
    cr_assert_eq(r->v[1].u.calendar.sessions, SESS_AM);
    cr_assert_eq(r->v[1].u.calendar.from, ymd(2026, 9, 21));
    records_destroy(&r);
}

Test(records, calendar_rules)
{
    records_t *r = csv(REC_CALENDAR,
                       CAL_HDR "100123,term,2026-09-02,2026-10-23,AM\n"
                               "100123,closure,2026-09-21,2026-09-21,\n"
                               "100123,closure,2026-09-22,2026-09-21,PM\n"
                               "100123,holiday,2026-09-22,2026-09-22,PM\n"
                               "100123,closure,2026-09-22,2026-09-22,EVE\n",
                       RC_EINVAL);
    cr_assert_eq(r->n, 0);
    assert_says(error_at(r, 2, "session"), "a term covers whole days");
    assert_says(error_at(r, 3, "session"), "a closure needs AM, PM or ALL");
    assert_says(error_at(r, 4, "to"), "2026-09-21 is before from (2026-09-22)");
    assert_says(error_at(r, 5, "kind"), "'holiday' is not a kind: use term or closure");
    assert_says(error_at(r, 6, "session"), "'EVE' is not a session");
    records_destroy(&r);
}

Test(records, pupils_csv)
{
    records_t *r =
        csv(REC_PUPILS,
            PUPILS_HDR "100123," UPN1 ",Amara,Okafor,7,2014-03-09,2025-09-03,,Y,N,y,N,N\n"
                       "100123," UPN2 ",Ben,Smith,R,2021-01-15,2025-09-03,2026-07-22,"
                       "N,Y,N,Y,Y\n"
                       "100123," UPN_TEMP ",Cara,Jones,N1,2023-01-15,2025-09-03,,N,N,"
                       "N,N,N\n",
            RC_OK);
    cr_assert_eq(r->n, 3);
    const pupil_rec_t *p = &r->v[0].u.pupil;
    cr_assert_str_eq(p->urn, "100123");
    cr_assert_str_eq(p->upn, UPN1);
    cr_assert_str_eq(p->forename, "Amara");
    cr_assert_str_eq(p->surname, "Okafor");
    cr_assert_eq(p->year_group, 7);
    cr_assert_eq(p->date_of_birth, ymd(2014, 3, 9));
    cr_assert_eq(p->on_roll_from, ymd(2025, 9, 3));
    cr_assert_eq(p->on_roll_to, RC_DATE_NONE);
    cr_assert_eq(p->flags, PUPIL_SEN | PUPIL_EAL);
    p = &r->v[1].u.pupil;
    cr_assert_eq(p->year_group, 0);
    cr_assert_eq(p->on_roll_to, ymd(2026, 7, 22));
    cr_assert_eq(p->flags, PUPIL_FSM | PUPIL_CLA | PUPIL_SOCIAL_WORKER);
    p = &r->v[2].u.pupil;
    cr_assert_str_eq(p->upn, UPN_TEMP);
    cr_assert_eq(p->year_group, -2);
    cr_assert_eq(p->flags, 0);
    records_destroy(&r);
}

Test(records, pupils_json)
{
    records_t *r =
        json(REC_PUPILS,
             "[{\"urn\":\"100123\",\"upn\":\"" UPN1 "\",\"forename\":\"Amara\","
             "\"surname\":\"Okafor\",\"year_group\":7,\"date_of_birth\":\"2014-03-09\","
             "\"on_roll_from\":\"2025-09-03\",\"on_roll_to\":null,\"sen\":true,"
             "\"fsm\":false,\"eal\":\"Y\",\"cla\":\"N\",\"social_worker\":false},"
             "{\"urn\":\"100123\",\"upn\":\"" UPN2 "\",\"forename\":\"Ben\","
             "\"surname\":\"Smith\",\"year_group\":\"N2\",\"date_of_birth\":\"2022-01-15\","
             "\"on_roll_from\":\"2025-09-03\",\"sen\":false,"
             "\"fsm\":true,\"eal\":false,\"cla\":false,\"social_worker\":true}]",
             RC_OK);
    cr_assert_eq(r->n, 2);
    const pupil_rec_t *p = &r->v[0].u.pupil;
    cr_assert_str_eq(p->upn, UPN1);
    cr_assert_eq(p->year_group, 7);
    cr_assert_eq(p->on_roll_to, RC_DATE_NONE);
    cr_assert_eq(p->flags, PUPIL_SEN | PUPIL_EAL);
    p = &r->v[1].u.pupil;
    cr_assert_eq(p->year_group, -1);
    cr_assert_eq(p->on_roll_to, RC_DATE_NONE);
    cr_assert_eq(p->flags, PUPIL_FSM | PUPIL_SOCIAL_WORKER);
    records_destroy(&r);
}

Test(records, pupil_rules)
{
    records_t *r =
        csv(REC_PUPILS,
            PUPILS_HDR "100123," UPN1 ",Amara,Okafor,15,2014-03-09,2025-09-03,,Y,N,N,N,N\n"
                       "100123," UPN1 ",Amara,Okafor,Y7,2014-03-09,2025-09-03,,Y,N,N,N,N\n"
                       "100123," UPN1 ",Amara,Okafor,7,2025-09-03,2025-09-03,,Y,N,N,N,N\n"
                       "100123," UPN1 ",Amara,Okafor,7,2014-03-09,2025-09-03,2025-09-02,"
                       "Y,N,N,N,N\n"
                       "100123," UPN1 ",Amara,  ,7,2014-03-09,2025-09-03,,Yes,N,N,N,\n",
            RC_EINVAL);
    cr_assert_eq(r->n, 0);
    assert_says(error_at(r, 2, "year_group"), "'15' is not a year group");
    assert_says(error_at(r, 3, "year_group"), "'Y7' is not a year group");
    assert_says(error_at(r, 4, "date_of_birth"), "2025-09-03 is not before on_roll_from");
    assert_says(error_at(r, 5, "on_roll_to"), "2025-09-02 is before on_roll_from (2025-09-03)");
    assert_says(error_at(r, 6, "surname"), "is empty");
    assert_says(error_at(r, 6, "sen"), "'Yes' must be Y or N");
    assert_says(error_at(r, 6, "social_worker"), "is empty");
    records_destroy(&r);
}

Test(records, contacts_csv)
{
    records_t *r =
        csv(REC_CONTACTS,
            CONTACTS_HDR UPN1 ",C1,Grace Okafor,Mother,Y,07700 900123,grace@example.org.uk,1\n" UPN1
                              ",C2,Sam Okafor,Father,N,,,\n",
            RC_OK);
    cr_assert_eq(r->n, 2);
    const contact_rec_t *c = &r->v[0].u.contact;
    cr_assert_str_eq(c->upn, UPN1);
    cr_assert_str_eq(c->contact_id, "C1");
    cr_assert_str_eq(c->name, "Grace Okafor");
    cr_assert_str_eq(c->relationship, "Mother");
    cr_assert_eq(c->parental_responsibility, 1);
    cr_assert_str_eq(c->mobile, "+447700900123");
    cr_assert_str_eq(c->email, "grace@example.org.uk");
    cr_assert_eq(c->priority, 1);
    c = &r->v[1].u.contact;
    cr_assert_eq(c->parental_responsibility, 0);
    cr_assert_str_eq(c->mobile, "");
    cr_assert_null(c->email);
    cr_assert_eq(c->priority, 1, "an empty priority means 1");
    records_destroy(&r);
}

Test(records, contacts_json)
{
    records_t *r = json(REC_CONTACTS,
                        "[{\"upn\":\"" UPN1 "\",\"contact_id\":\"C1\",\"name\":\"Grace\","
                        "\"relationship\":\"Mother\",\"parental_responsibility\":true,"
                        "\"mobile\":\"+44 7700 900123\",\"email\":null,\"priority\":2},"
                        "{\"upn\":\"" UPN1 "\",\"contact_id\":\"C2\",\"name\":\"Sam\","
                        "\"parental_responsibility\":\"N\",\"priority\":\"3\"}]",
                        RC_OK);
    cr_assert_eq(r->n, 2);
    cr_assert_str_eq(r->v[0].u.contact.mobile, "+447700900123");
    cr_assert_null(r->v[0].u.contact.email);
    cr_assert_eq(r->v[0].u.contact.priority, 2);
    cr_assert_eq(r->v[0].u.contact.parental_responsibility, 1);
    cr_assert_str_eq(r->v[1].u.contact.relationship, "");
    cr_assert_eq(r->v[1].u.contact.priority, 3);
    cr_assert_eq(r->v[1].u.contact.parental_responsibility, 0);
    records_destroy(&r);
}

Test(records, contact_rules)
{
    records_t *r = csv(REC_CONTACTS,
                       CONTACTS_HDR UPN1 ",C1,Grace,Mother,Y,01632 960123,,1\n" UPN1
                                         ",C1,Grace,Mother,Y,,grace@@example.org,1\n" UPN1
                                         ",C1,Grace,Mother,Y,,,0\n" UPN1
                                         ",C1,Grace,Mother,Y,,,100\n" UPN1 ",,Grace,Mother,Y,,,1\n",
                       RC_EINVAL);
    cr_assert_eq(r->n, 0);
    assert_says(error_at(r, 2, "mobile"), "not a UK mobile number");
    assert_says(error_at(r, 3, "email"), "exactly one '@'");
    assert_says(error_at(r, 4, "priority"), "0 is out of range");
    assert_says(error_at(r, 5, "priority"), "100 is out of range");
    assert_says(error_at(r, 6, "contact_id"), "is empty");
    /* Phone numbers and addresses are not echoed back. */
    cr_assert_null(strstr(error_at(r, 2, "mobile")->message, "960123"));
    cr_assert_null(strstr(error_at(r, 3, "email")->message, "example"));
    records_destroy(&r);
}

Test(records, marks_csv)
{
    records_t *r = csv(REC_MARKS,
                       MARKS_HDR "100123," UPN1 ",2026-09-07,AM,/,,2026-09-07T08:41:00+01:00\n"
                                 "100123," UPN1 ",2026-09-07,PM,\\,0,2026-09-07T13:15:00Z\n"
                                 "100123," UPN2 ",2026-09-07,AM,L,12,2026-09-07T09:02:30.5+01:00\n"
                                 "100123," UPN2 ",2026-09-07,PM,C1,,2026-09-07T13:15:00+01:00\n",
                       RC_OK);
    cr_assert_eq(r->n, 4);
    const mark_t *m = &r->v[0].u.mark;
    cr_assert_str_eq(m->urn, "100123");
    cr_assert_str_eq(m->upn, UPN1);
    cr_assert_eq(m->date, ymd(2026, 9, 7));
    cr_assert_eq(m->session, SESSION_AM);
    cr_assert_eq(m->code, CODE_PRESENT_AM);
    cr_assert_eq(m->minutes_late, 0);
    rc_time_t want = ((rc_time_t)ymd(2026, 9, 7) * 86400 + 7 * 3600 + 41 * 60) * RC_USEC_PER_SEC;
    cr_assert_eq(m->recorded_at, want);
    cr_assert_eq(r->v[1].u.mark.session, SESSION_PM);
    cr_assert_eq(r->v[1].u.mark.code, CODE_PRESENT_PM);
    cr_assert_eq(r->v[2].u.mark.code, CODE_L);
    cr_assert_eq(r->v[2].u.mark.minutes_late, 12);
    cr_assert_eq(r->v[2].u.mark.recorded_at % RC_USEC_PER_SEC, 500000);
    cr_assert_eq(r->v[3].u.mark.code, CODE_C1);
    records_destroy(&r);
}

Test(records, marks_json)
{
    records_t *r = json(REC_MARKS,
                        "[{\"urn\":\"100123\",\"upn\":\"" UPN1 "\",\"date\":\"2026-09-07\","
                        "\"session\":\"PM\",\"code\":\"N\",\"minutes_late\":0,"
                        "\"recorded_at\":\"2026-09-07T13:15:00+01:00\"},"
                        "{\"urn\":\"100123\",\"upn\":\"" UPN1 "\",\"date\":\"2026-09-08\","
                        "\"session\":\"AM\",\"code\":\"\\\\\","
                        "\"recorded_at\":\"2026-09-08T08:40:00+01:00\"}]",
                        RC_OK);
    cr_assert_eq(r->n, 2);
    cr_assert_eq(r->v[0].u.mark.session, SESSION_PM);
    cr_assert_eq(r->v[0].u.mark.code, CODE_N);
    cr_assert_eq(r->v[0].u.mark.date, ymd(2026, 9, 7));
    cr_assert_eq(r->v[1].u.mark.code, CODE_PRESENT_PM, "'\\' is accepted in the AM session");
    cr_assert_eq(r->v[1].u.mark.minutes_late, 0);
    records_destroy(&r);
}

Test(records, mark_rules)
{
    records_t *r = csv(REC_MARKS,
                       MARKS_HDR "100123," UPN1 ",2026-09-07,AM,/,1000,2026-09-07T08:41:00+01:00\n"
                                 "100123," UPN1 ",2026-09-07,ALL,/,,2026-09-07T08:41:00+01:00\n"
                                 "100123," UPN1 ",2026-09-07,AM,/,-1,2026-09-07T08:41:00+01:00\n",
                       RC_EINVAL);
    cr_assert_eq(r->n, 0);
    assert_says(error_at(r, 2, "minutes_late"), "1000 is out of range");
    assert_says(error_at(r, 3, "session"), "a mark is for one session");
    assert_says(error_at(r, 4, "minutes_late"), "-1 is out of range");
    records_destroy(&r);
}

/* ---- CSV shape ---- */

Test(records, csv_columns_in_any_order)
{
    records_t *r = csv(REC_MARKS,
                       "recorded_at,code,upn,session,minutes_late,date,urn\n"
                       "2026-09-07T08:41:00+01:00,N," UPN1 ",AM,5,2026-09-07,100123\n",
                       RC_OK);
    cr_assert_eq(r->n, 1);
    const mark_t *m = &r->v[0].u.mark;
    cr_assert_str_eq(m->urn, "100123");
    cr_assert_str_eq(m->upn, UPN1);
    cr_assert_eq(m->code, CODE_N);
    cr_assert_eq(m->minutes_late, 5);
    cr_assert_eq(m->date, ymd(2026, 9, 7));
    records_destroy(&r);
}

Test(records, csv_header_ignores_case_and_spaces)
{
    records_t *r = csv(REC_SCHOOLS, "URN, Name ,LA_code,trust_id,policy\n100123,A,202,,p\n", RC_OK);
    cr_assert_eq(r->n, 1);
    cr_assert_str_eq(r->v[0].u.school.name, "A");
    records_destroy(&r);
}

Test(records, csv_quoting)
{
    records_t *r = csv(REC_SCHOOLS,
                       SCHOOLS_HDR "100123,\"Smith, Jones & Co\",202,,p\n"
                                   "100124,\"The \"\"Old\"\" School\",202,,p\n"
                                   "100125,\"Grange\nHill\",202,,p\n"
                                   "100126,After,202,,p\n"
                                   "\"100127\",\"\",202,,p\n",
                       RC_EINVAL);
    cr_assert_eq(r->n, 4);
    cr_assert_str_eq(r->v[0].u.school.name, "Smith, Jones & Co");
    cr_assert_str_eq(r->v[1].u.school.name, "The \"Old\" School");
    /* An Alt+Enter line break inside a name reads as a space. */
    cr_assert_str_eq(r->v[2].u.school.name, "Grange Hill");
    cr_assert_eq(r->v[2].row, 4);
    cr_assert_str_eq(r->v[3].u.school.name, "After");
    cr_assert_eq(r->v[3].row, 6, "the row after a two-line row starts on line 6");
    assert_says(error_at(r, 7, "name"), "is empty");
    records_destroy(&r);
}

Test(records, csv_crlf)
{
    records_t *r = csv(REC_SCHOOLS,
                       "urn,name,la_code,trust_id,policy\r\n100123,A,202,,p\r\n"
                       "100124,\"B\r\nC\",202,,p\r\n100125,D,202,T1,p\r\n",
                       RC_OK);
    cr_assert_eq(r->n, 3);
    cr_assert_str_eq(r->v[0].u.school.policy, "p", "no CR left on the last field");
    cr_assert_str_eq(r->v[1].u.school.name, "B C");
    cr_assert_eq(r->v[2].row, 5);
    cr_assert_str_eq(r->v[2].u.school.trust_id, "T1");
    records_destroy(&r);
}

Test(records, csv_bom_and_blank_lines)
{
    records_t *r = csv(REC_SCHOOLS,
                       "\xEF\xBB\xBFurn,name,la_code,trust_id,policy\n100123,A,202,,p\n\n"
                       "100124,B,202,,p\n,,,,\n\n\n",
                       RC_OK);
    cr_assert_eq(r->n, 2);
    cr_assert_str_eq(r->v[0].u.school.urn, "100123");
    cr_assert_eq(r->v[1].row, 4);
    records_destroy(&r);
}

Test(records, csv_no_final_newline)
{
    records_t *r = csv(REC_SCHOOLS, SCHOOLS_HDR "100123,A,202,,p", RC_OK);
    cr_assert_eq(r->n, 1);
    cr_assert_str_eq(r->v[0].u.school.policy, "p");
    records_destroy(&r);
}

Test(records, csv_surrounding_spaces)
{
    records_t *r = csv(REC_MARKS,
                       MARKS_HDR " 100123 , " UPN1 " , 2026-09-07 , am , N , 3 , "
                                 "2026-09-07T08:41:00+01:00 \n",
                       RC_OK);
    cr_assert_eq(r->n, 1);
    cr_assert_str_eq(r->v[0].u.mark.urn, "100123");
    cr_assert_eq(r->v[0].u.mark.session, SESSION_AM);
    cr_assert_eq(r->v[0].u.mark.minutes_late, 3);
    records_destroy(&r);
    r = csv(REC_SCHOOLS, SCHOOLS_HDR "100123,  St Mary's  ,202,,p\n", RC_OK);
    cr_assert_str_eq(r->v[0].u.school.name, "St Mary's");
    records_destroy(&r);
}

Test(records, csv_bare_quote_is_fatal)
{
    records_t *r = csv(REC_SCHOOLS,
                       SCHOOLS_HDR "100123,A,202,,p\n100124,B,202,,p\n"
                                   "100125,The \"Old\" School,202,,p\n100126,D,202,,p\n",
                       RC_EPARSE);
    cr_assert_eq(r->fatal, 1);
    cr_assert_eq(r->n, 2, "the rows before the broken one are kept");
    cr_assert_str_eq(r->v[1].u.school.urn, "100124");
    cr_assert_eq(r->nerrors, 1);
    cr_assert_eq(r->errors[0].row, 4);
    cr_assert_str_eq(r->errors[0].column, "name");
    assert_says(&r->errors[0], "nothing after this was read");
    records_destroy(&r);
}

Test(records, csv_text_after_quote_is_fatal)
{
    records_t *r =
        csv(REC_SCHOOLS, SCHOOLS_HDR "100123,A,202,,p\n100124,\"B\"x,202,,p\n", RC_EPARSE);
    cr_assert_eq(r->n, 1);
    cr_assert_eq(r->errors[0].row, 3);
    assert_says(&r->errors[0], "text after a closing");
    records_destroy(&r);
}

Test(records, csv_unterminated_quote_is_fatal)
{
    records_t *r =
        csv(REC_SCHOOLS, SCHOOLS_HDR "100123,A,202,,p\n100124,\"B,202,,p\n100125,C,202,,p\n",
            RC_EPARSE);
    cr_assert_eq(r->fatal, 1);
    cr_assert_eq(r->n, 1);
    cr_assert_eq(r->nerrors, 1);
    cr_assert_eq(r->errors[0].row, 3, "names the line where the bad row starts");
    assert_says(&r->errors[0], "never closed");
    records_destroy(&r);
}

Test(records, csv_header_unknown_column)
{
    records_t *r = csv(REC_PUPILS,
                       "urn,upn,forname,surname,year_group,date_of_birth,on_roll_from,on_roll_to,"
                       "sen,fsm,eal,cla,social_worker,shoe_size\n",
                       RC_EPARSE);
    cr_assert_eq(r->fatal, 1);
    cr_assert_eq(r->n, 0);
    assert_says(error_at(r, 1, "forname"), "did you mean 'forename'?");
    assert_says(error_at(r, 1, "shoe_size"), "unknown column 'shoe_size'");
    assert_says(error_at(r, 1, "forename"), "missing from the header");
    records_destroy(&r);
}

Test(records, csv_header_missing_and_duplicate)
{
    records_t *r = csv(REC_SCHOOLS, "urn,name,la_code,policy,name\n100123,A,202,p,A\n", RC_EPARSE);
    cr_assert_eq(r->n, 0);
    assert_says(error_at(r, 1, "trust_id"), "missing from the header");
    assert_says(error_at(r, 1, "name"), "appears twice in the header (columns 2 and 5)");
    records_destroy(&r);
}

Test(records, csv_header_absent_or_empty)
{
    records_t *r = csv(REC_SCHOOLS, "100123,A,202,,p\n", RC_EPARSE);
    cr_assert_eq(r->nerrors, 1);
    cr_assert_eq(r->errors[0].row, 1);
    assert_says(&r->errors[0], "the first line must be the header row");
    assert_says(&r->errors[0], "urn, name, la_code, trust_id, policy");
    records_destroy(&r);
    r = csv(REC_SCHOOLS, "", RC_EPARSE);
    cr_assert_eq(r->errors[0].row, 0);
    assert_says(&r->errors[0], "the file is empty");
    records_destroy(&r);
    r = csv(REC_SCHOOLS, "\xEF\xBB\xBF\r\n\n", RC_EPARSE);
    assert_says(&r->errors[0], "the file is empty");
    records_destroy(&r);
    r = csv(REC_SCHOOLS, SCHOOLS_HDR, RC_OK);
    cr_assert_eq(r->n, 0);
    records_destroy(&r);
}

Test(records, csv_wrong_field_count)
{
    records_t *r = csv(REC_SCHOOLS,
                       SCHOOLS_HDR "100123,A,202,,p\n100124,Smith, Jones,202,,p\n100125,C,202\n"
                                   "100126,D,202,,p\n",
                       RC_EINVAL);
    cr_assert_eq(r->n, 2);
    cr_assert_str_eq(r->v[1].u.school.urn, "100126");
    assert_says(error_at(r, 3, ""), "has 6 values but the header has 5 columns");
    assert_says(error_at(r, 4, ""), "has 3 values but the header has 5 columns");
    records_destroy(&r);
}

Test(records, csv_invalid_utf8)
{
    records_t *r = csv(REC_SCHOOLS,
                       SCHOOLS_HDR "100123,Caf\xE9,202,,p\n100124,Caf\xC3\xA9,202,,p\n"
                                   "100125,A\xC0\xAF,202,,p\n",
                       RC_EINVAL);
    cr_assert_eq(r->n, 1);
    cr_assert_str_eq(r->v[0].u.school.name, "Caf\xC3\xA9");
    assert_says(error_at(r, 2, "name"), "is not valid UTF-8 text (byte 0xE9)");
    assert_says(error_at(r, 4, "name"), "not valid UTF-8");
    records_destroy(&r);
}

Test(records, csv_utf16_refused)
{
    records_t *r = NULL;
    cr_assert_eq(records_parse(REC_SCHOOLS, REC_FMT_CSV, "\xFF\xFEu\0r\0n\0", 8, &r), RC_EPARSE);
    assert_says(&r->errors[0], "UTF-16");
    records_destroy(&r);
}

Test(records, csv_nul_byte)
{
    static const char doc[] = SCHOOLS_HDR "100123,A\0B,202,,p\n";
    records_t *r = NULL;
    cr_assert_eq(records_parse(REC_SCHOOLS, REC_FMT_CSV, doc, sizeof doc - 1, &r), RC_EINVAL);
    assert_says(error_at(r, 2, "name"), "NUL byte");
    records_destroy(&r);
}

Test(records, csv_oversize_field)
{
    size_t big = REC_MAX_FIELD + 10;
    char *doc = malloc(big + 200);
    cr_assert_not_null(doc);
    int n = sprintf(doc, SCHOOLS_HDR "100123,");
    memset(doc + n, 'x', big);
    strcpy(doc + n + big, ",202,,p\n100124,B,202,,p\n");
    records_t *r = csv(REC_SCHOOLS, doc, RC_EINVAL);
    cr_assert_eq(r->n, 1);
    cr_assert_str_eq(r->v[0].u.school.urn, "100124");
    assert_says(error_at(r, 2, "name"), "is longer than 1024 bytes");
    records_destroy(&r);
    free(doc);
}

Test(records, csv_name_too_long)
{
    char name[REC_MAX_NAME + 2], doc[512];
    memset(name, 'a', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    snprintf(doc, sizeof doc, SCHOOLS_HDR "100123,%s,202,,p\n100124,%s,202,,p\n", name, name + 1);
    records_t *r = csv(REC_SCHOOLS, doc, RC_EINVAL);
    cr_assert_eq(r->n, 1, "exactly REC_MAX_NAME bytes is allowed");
    cr_assert_eq(strlen(r->v[0].u.school.name), REC_MAX_NAME);
    assert_says(error_at(r, 2, "name"), "is 201 bytes long; at most 200");
    records_destroy(&r);
}

Test(records, csv_too_many_header_columns)
{
    char doc[1024] = "urn";
    for (int i = 0; i < REC_MAX_COLUMNS; i++)
        strcat(doc, ",x");
    strcat(doc, "\n");
    records_t *r = csv(REC_SCHOOLS, doc, RC_EPARSE);
    cr_assert_eq(r->nerrors, 1);
    assert_says(&r->errors[0], "the header row has 65 columns; at most 64");
    records_destroy(&r);
}

Test(records, policy_and_trust_are_names_not_paths)
{
    records_t *r = csv(REC_SCHOOLS, SCHOOLS_HDR "100123,A,202,../x,../../etc/passwd\n", RC_EINVAL);
    cr_assert_eq(r->n, 0);
    assert_says(error_at(r, 2, "policy"), "may contain only letters, digits");
    assert_says(error_at(r, 2, "trust_id"), "may contain only letters, digits");
    records_destroy(&r);
}

Test(records, control_character_in_name)
{
    records_t *r = csv(REC_SCHOOLS, SCHOOLS_HDR "100123,A\x1b[31m,202,,p\n", RC_EINVAL);
    assert_says(error_at(r, 2, "name"), "control character (byte 0x1B)");
    records_destroy(&r);
}

/* ---- field validation ---- */

Test(records, unknown_code)
{
    records_t *r = csv(REC_MARKS,
                       MARKS_HDR "100123," UPN1 ",2026-09-07,AM,A,,2026-09-07T08:41:00+01:00\n"
                                 "100123," UPN1 ",2026-09-07,AM,n,,2026-09-07T08:41:00+01:00\n"
                                 "100123," UPN1 ",2026-09-07,AM,H,,2026-09-07T08:41:00+01:00\n",
                       RC_EINVAL);
    cr_assert_eq(r->n, 0);
    const rec_error_t *e = error_at(r, 2, "code");
    assert_says(e, "'A' is not a DfE attendance code (2024)");
    assert_says(e, "/ \\ L K");
    assert_says(error_at(r, 3, "code"), "did you mean 'N'?");
    assert_says(error_at(r, 4, "code"), "'H' is not a DfE attendance code (2024)");
    records_destroy(&r);
}

Test(records, upn_check_letter)
{
    records_t *r = csv(REC_MARKS,
                       MARKS_HDR "100123,A801200005001,2026-09-07,AM,/,,2026-09-07T08:41:00+01:00\n"
                                 "100123,B801200005001,2026-09-07,AM,/,,2026-09-07T08:41:00+01:00\n"
                                 "100123,b801200005001,2026-09-07,PM,/,,2026-09-07T13:41:00+01:00\n"
                                 "100123,B80120000500,2026-09-07,AM,/,,2026-09-07T08:41:00+01:00\n",
                       RC_EINVAL);
    cr_assert_eq(r->n, 2);
    cr_assert_str_eq(r->v[0].u.mark.upn, "B801200005001");
    cr_assert_eq(r->v[0].row, 3);
    cr_assert_str_eq(r->v[1].u.mark.upn, "B801200005001", "a lower-case letter is upper-cased");
    const rec_error_t *e = error_at(r, 2, "upn");
    assert_says(e, "check letter");
    cr_assert_null(strstr(e->message, "801200005001"), "the UPN is not echoed");
    assert_says(error_at(r, 5, "upn"), "13 characters");
    records_destroy(&r);
}

Test(records, urn_with_letters)
{
    records_t *r = csv(REC_SCHOOLS, SCHOOLS_HDR "10012A,A,202,,p\n100123,B,2O2,,p\n", RC_EINVAL);
    cr_assert_eq(r->n, 0);
    assert_says(error_at(r, 2, "urn"), "'10012A' is not a URN: URN must be exactly 6 digits");
    assert_says(error_at(r, 3, "la_code"), "'2O2' is not an LA code");
    records_destroy(&r);
}

Test(records, impossible_dates)
{
    records_t *r = csv(REC_MARKS,
                       MARKS_HDR "100123," UPN1 ",2026-02-30,AM,/,,2026-09-07T08:41:00+01:00\n"
                                 "100123," UPN1 ",07/09/2026,AM,/,,2026-09-07T08:41:00+01:00\n"
                                 "100123," UPN1 ",2026-13-01,AM,/,,2026-09-07T08:41:00+01:00\n"
                                 "100123," UPN1 ",1899-12-31,AM,/,,2026-09-07T08:41:00+01:00\n"
                                 "100123," UPN1 ",2028-02-29,AM,/,,2026-09-07T08:41:00+01:00\n",
                       RC_EINVAL);
    cr_assert_eq(r->n, 1, "2028 is a leap year");
    cr_assert_eq(r->v[0].u.mark.date, ymd(2028, 2, 29));
    assert_says(error_at(r, 2, "date"), "2026-02-30 is not a date: February 2026 has 28 days");
    const rec_error_t *e = error_at(r, 3, "date");
    assert_says(e, "'07/09/2026' is not a date in the form YYYY-MM-DD");
    assert_says(e, "Excel");
    assert_says(error_at(r, 4, "date"), "the month must be 01 to 12");
    assert_says(error_at(r, 5, "date"), "the year must be 1900 to 2199");
    records_destroy(&r);
}

Test(records, bad_times)
{
    records_t *r = csv(REC_MARKS,
                       MARKS_HDR "100123," UPN1 ",2026-09-07,AM,/,,2026-09-07 08:41\n"
                                 "100123," UPN1 ",2026-09-07,AM,/,,2026-09-07T08:41:00\n"
                                 "100123," UPN1 ",2026-09-07,AM,/,,2026-09-07T25:41:00+01:00\n"
                                 "100123," UPN1 ",2026-09-07,AM,/,,\n",
                       RC_EINVAL);
    cr_assert_eq(r->n, 0);
    assert_says(error_at(r, 2, "recorded_at"), "is not a time in ISO 8601 form");
    assert_says(error_at(r, 3, "recorded_at"), "offset from UTC");
    assert_says(error_at(r, 4, "recorded_at"), "is not a real date and time");
    assert_says(error_at(r, 5, "recorded_at"), "is empty");
    records_destroy(&r);
}

Test(records, bad_row_in_the_middle)
{
    records_t *r = csv(REC_MARKS,
                       MARKS_HDR "100123," UPN1 ",2026-09-07,AM,/,,2026-09-07T08:41:00+01:00\n"
                                 "100123," UPN1 ",2026-09-07,PM,A,,2026-09-07T13:41:00+01:00\n"
                                 "100123," UPN2 ",2026-09-07,AM,N,,2026-09-07T08:41:00+01:00\n",
                       RC_EINVAL);
    cr_assert_eq(r->fatal, 0);
    cr_assert_eq(r->n, 2);
    cr_assert_eq(r->v[0].row, 2);
    cr_assert_eq(r->v[1].row, 4);
    cr_assert_str_eq(r->v[1].u.mark.upn, UPN2);
    cr_assert_eq(r->nerrors, 1);
    cr_assert_eq(r->errors[0].row, 3);
    cr_assert_str_eq(r->errors[0].column, "code");
    records_destroy(&r);
}

Test(records, every_problem_in_a_row_is_reported)
{
    records_t *r =
        csv(REC_MARKS, MARKS_HDR "1001,X801200005001,2026-02-30,XM,A,x,never\n", RC_EINVAL);
    cr_assert_eq(r->nerrors, 7);
    const char *cols[] = {"urn", "upn", "date", "session", "code", "minutes_late", "recorded_at"};
    for (int i = 0; i < 7; i++)
        cr_assert_str_eq(r->errors[i].column, cols[i]);
    records_destroy(&r);
}

Test(records, errors_are_capped)
{
    size_t rows = 1500;
    char *doc = malloc(rows * 20 + 64);
    cr_assert_not_null(doc);
    size_t n = (size_t)sprintf(doc, SCHOOLS_HDR);
    for (size_t i = 0; i < rows; i++)
        n += (size_t)sprintf(doc + n, "x,A,202,,p\n");
    records_t *r = csv(REC_SCHOOLS, doc, RC_EINVAL);
    cr_assert_eq(r->n, 0);
    cr_assert_eq(r->nerrors, 1001);
    cr_assert_eq(r->errors[999].row, 1001);
    cr_assert_eq(r->errors[1000].row, 1002);
    assert_says(&r->errors[1000], "this and 500 more problems are not listed");
    records_destroy(&r);
    free(doc);
}

/* ---- JSON shape ---- */

Test(records, json_not_an_array)
{
    records_t *r = json(REC_SCHOOLS, "{\"urn\":\"100123\"}", RC_EPARSE);
    cr_assert_eq(r->fatal, 1);
    cr_assert_eq(r->nerrors, 1);
    assert_says(&r->errors[0], "must be a JSON array of schools records");
    assert_says(&r->errors[0], "put [ ] around a single record");
    records_destroy(&r);
    r = json(REC_SCHOOLS, "42", RC_EPARSE);
    assert_says(&r->errors[0], "not a whole number");
    records_destroy(&r);
    r = json(REC_SCHOOLS, "  \n", RC_EPARSE);
    assert_says(&r->errors[0], "the body is empty");
    records_destroy(&r);
    r = json(REC_SCHOOLS, "[]", RC_OK);
    cr_assert_eq(r->n, 0);
    records_destroy(&r);
}

Test(records, json_syntax_error_has_position)
{
    records_t *r = json(REC_SCHOOLS, "[\n  {\"urn\": \"100123\",}\n]", RC_EPARSE);
    cr_assert_eq(r->fatal, 1);
    cr_assert_eq(r->n, 0);
    cr_assert_eq(r->nerrors, 1);
    assert_says(&r->errors[0], "the body is not valid JSON");
    assert_says(&r->errors[0], "at line 2, column");
    records_destroy(&r);
    r = json(REC_SCHOOLS, "[{\"urn\":\"1\",\"urn\":\"2\"}]", RC_EPARSE);
    assert_says(&r->errors[0], "a key appears twice");
    records_destroy(&r);
    r = json(REC_SCHOOLS, "[{\"name\":\"Caf\xE9\"}]", RC_EPARSE);
    assert_says(&r->errors[0], "not valid UTF-8");
    records_destroy(&r);
}

Test(records, json_wrong_types)
{
    records_t *r =
        json(REC_PUPILS,
             "[{\"urn\":\"100123\",\"upn\":8012000050,\"forename\":{\"a\":1},"
             "\"surname\":\"Okafor\",\"year_group\":7.5,\"date_of_birth\":\"2014-03-09\","
             "\"on_roll_from\":\"2025-09-03\",\"sen\":1,\"fsm\":\"N\",\"eal\":\"N\","
             "\"cla\":\"N\",\"social_worker\":[]}]",
             RC_EINVAL);
    cr_assert_eq(r->n, 0);
    assert_says(error_at(r, 0, "upn"), "must be a string (the pupil's 13-character UPN), not a "
                                       "whole number");
    assert_says(error_at(r, 0, "forename"), "must be a string");
    assert_says(error_at(r, 0, "forename"), "not an object");
    assert_says(error_at(r, 0, "year_group"), "not a number with a fraction");
    assert_says(error_at(r, 0, "sen"), "must be \"Y\" or \"N\" (or true or false)");
    assert_says(error_at(r, 0, "social_worker"), "not an array");
    records_destroy(&r);
}

Test(records, json_missing_unknown_and_non_object)
{
    records_t *r =
        json(REC_SCHOOLS,
             "[{\"urn\":\"100123\",\"name\":\"A\",\"la_code\":\"202\",\"policy\":\"p\"},"
             " {\"urn\":\"100124\",\"nmae\":\"B\",\"la_code\":\"202\",\"policy\":\"p\"},"
             " \"100125\","
             " {\"urn\":\"100126\",\"name\":\"D\",\"la_code\":\"202\",\"policy\":\"p\","
             "\"colour\":\"red\"},"
             " {\"urn\":\"100127\",\"name\":\"E\",\"la_code\":\"202\",\"policy\":\"p\"}]",
             RC_EINVAL);
    cr_assert_eq(r->n, 2);
    cr_assert_eq(r->v[0].row, 0);
    cr_assert_eq(r->v[1].row, 4);
    cr_assert_str_eq(r->v[1].u.school.name, "E");
    assert_says(error_at(r, 1, "nmae"), "unknown field 'nmae': did you mean 'name'?");
    assert_says(error_at(r, 1, "name"), "is missing; expected the school's name");
    assert_says(error_at(r, 2, ""), "must be an object");
    assert_says(error_at(r, 3, "colour"), "unknown field 'colour'");
    records_destroy(&r);
}

Test(records, json_oversize_string)
{
    size_t big = REC_MAX_FIELD + 1;
    char *doc = malloc(big + 200);
    cr_assert_not_null(doc);
    int n = sprintf(doc, "[{\"urn\":\"100123\",\"name\":\"");
    memset(doc + n, 'x', big);
    strcpy(doc + n + big, "\",\"la_code\":\"202\",\"policy\":\"p\"}]");
    records_t *r = json(REC_SCHOOLS, doc, RC_EINVAL);
    assert_says(error_at(r, 0, "name"), "is longer than 1024 bytes");
    records_destroy(&r);
    free(doc);
}

/* ---- formatting and kinds ---- */

Test(records, error_format)
{
    char buf[300];
    records_t *r = csv(REC_MARKS,
                       MARKS_HDR "100123," UPN1 ",2026-09-07,AM,A,,2026-09-07T08:41:00+01:00\n"
                                 "100123," UPN1 ",2026-09-07,AM\n",
                       RC_EINVAL);
    cr_assert_str_eq(rec_error_format(r, &r->errors[0], buf, sizeof buf),
                     "line 2, column code: 'A' is not a DfE attendance code (2024); the codes "
                     "are / \\ L K V P W B C C1 C2 E I J1 M R S T G N O U D Q Y1 Y2 Y3 Y4 Y5 Y6 "
                     "Y7 X Z #");
    cr_assert_str_eq(rec_error_format(r, &r->errors[1], buf, sizeof buf),
                     "line 3: has 4 values but the header has 7 columns; check for a missing or "
                     "extra comma (a value with a comma in it must be in double quotes)");
    char small[12];
    cr_assert_eq(rec_error_format(r, &r->errors[0], small, sizeof small), small);
    cr_assert_str_eq(small, "line 2, col");
    records_destroy(&r);

    r = json(REC_SCHOOLS,
             "[{\"urn\":\"10012A\",\"name\":\"A\",\"la_code\":\"202\",\"policy\":\"p\"}]",
             RC_EINVAL);
    cr_assert_str_eq(rec_error_format(r, &r->errors[0], buf, sizeof buf),
                     "item 0, field urn: '10012A' is not a URN: URN must be exactly 6 digits");
    records_destroy(&r);

    r = json(REC_SCHOOLS, "[", RC_EPARSE);
    rec_error_format(r, &r->errors[0], buf, sizeof buf);
    cr_assert_eq(strncmp(buf, "the body is not valid JSON", 26), 0, "got: %s", buf);
    records_destroy(&r);

    r = csv(REC_SCHOOLS, "", RC_EPARSE);
    rec_error_format(r, &r->errors[0], buf, sizeof buf);
    cr_assert_eq(strncmp(buf, "the file is empty", 17), 0, "got: %s", buf);
    records_destroy(&r);
}

Test(records, kind_names)
{
    const char *names[] = {"schools", "calendar", "pupils", "contacts", "marks"};
    for (int k = 0; k < REC__KIND_COUNT; k++) {
        rec_kind_t got;
        cr_assert_str_eq(rec_kind_name((rec_kind_t)k), names[k]);
        cr_assert_eq(rec_kind_parse(names[k], &got), RC_OK);
        cr_assert_eq(got, (rec_kind_t)k);
    }
    rec_kind_t got = REC_MARKS;
    cr_assert_eq(rec_kind_parse("pupil", &got), RC_EINVAL);
    cr_assert_eq(rec_kind_parse(NULL, &got), RC_EINVAL);
    cr_assert_eq(got, REC_MARKS);
    cr_assert_str_eq(rec_kind_name(REC__KIND_COUNT), "unknown");
}

Test(records, bad_arguments)
{
    records_t *r = (records_t *)1;
    cr_assert_eq(records_parse(REC__KIND_COUNT, REC_FMT_CSV, "", 0, &r), RC_EINVAL);
    cr_assert_null(r);
    cr_assert_eq(records_parse(REC_SCHOOLS, REC_FMT_CSV, NULL, 5, &r), RC_EINVAL);
    cr_assert_null(r);
    cr_assert_eq(records_parse(REC_SCHOOLS, REC_FMT_CSV, "", 0, NULL), RC_EINVAL);
    cr_assert_eq(records_parse(REC_SCHOOLS, REC_FMT_CSV, NULL, 0, &r), RC_EPARSE);
    records_destroy(&r);
    records_destroy(NULL);
}
