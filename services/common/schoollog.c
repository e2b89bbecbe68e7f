/* schoollog.c - per-school event logs in Redis streams, appended through
 * Redis functions so the amendment rule and the sequence number are applied
 * in one atomic step. */
#include "schoollog.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The library is replaced on every start, so changing it here is enough.
 * rollcall_append_mark: KEYS = versions hash, seq, log; ARGV = field,
 * version "<recorded_us>:<code>:<minutes>", envelope. Returns {seq, status}. */
static const char library[] =
    "#!lua name=rollcall_log\n"
    "local function parse(v)\n"
    "  local r, c, m = string.match(v, '^(%d+):(%d+):(%d+)$')\n"
    "  return tonumber(r), tonumber(c), tonumber(m)\n"
    "end\n"
    "local function beats(a, b)\n"
    "  local ar, ac, am = parse(a)\n"
    "  local br, bc, bm = parse(b)\n"
    "  if ar ~= br then return ar > br end\n"
    "  if ac ~= bc then return ac > bc end\n"
    "  return am > bm\n"
    "end\n"
    "local function append(seq_key, log_key, env)\n"
    "  local seq = redis.call('INCR', seq_key)\n"
    "  redis.call('XADD', log_key, seq .. '-0', 'e', env)\n"
    "  return seq\n"
    "end\n"
    "redis.register_function('rollcall_append_mark', function(keys, args)\n"
    "  local held = redis.call('HGET', keys[1], args[1])\n"
    "  local status = 0\n"
    "  local versions = args[2]\n"
    "  if held then\n"
    "    for v in string.gmatch(held, '[^,]+') do\n"
    "      if v == args[2] then return {0, 2} end\n"
    "    end\n"
    "    if beats(args[2], string.match(held, '^[^,]+')) then\n"
    "      versions = args[2] .. ',' .. held\n"
    "    else\n"
    "      versions = held .. ',' .. args[2]\n"
    "      status = 1\n"
    "    end\n"
    "  end\n"
    "  redis.call('HSET', keys[1], args[1], versions)\n"
    "  return {append(keys[2], keys[3], args[3]), status}\n"
    "end)\n"
    "redis.register_function('rollcall_append', function(keys, args)\n"
    "  return {append(keys[1], keys[2], args[1]), 0}\n"
    "end)\n"
    "redis.register_function('rollcall_append_once', function(keys, args)\n"
    "  if redis.call('SADD', keys[3], args[2]) == 0 then return {0, 2} end\n"
    "  return {append(keys[1], keys[2], args[1]), 0}\n"
    "end)\n";

#define KEY_MAX 64

rc_err_t schoollog_install(redisContext *redis, const char **why)
{
    redisReply *r = redisCommand(redis, "FUNCTION LOAD REPLACE %b", library, sizeof library - 1);
    rc_err_t err = RC_OK;
    if (!r) {
        err = RC_EIO;
        if (why)
            *why = redis->errstr;
    } else if (r->type == REDIS_REPLY_ERROR) {
        err = RC_EIO;
        if (why)
            *why = "Redis refused the log functions (Redis 7 or later is needed)";
    }
    freeReplyObject(r);
    return err;
}

static void log_keys(const char *urn, char seq[KEY_MAX], char log[KEY_MAX])
{
    snprintf(seq, KEY_MAX, SCHOOLLOG_SEQ_KEY_FMT, urn);
    snprintf(log, KEY_MAX, SCHOOLLOG_LOG_KEY_FMT, urn);
}

rc_err_t schoollog_queue_mark(redisContext *redis, const mark_t *mark, const uint8_t *env,
                              size_t len)
{
    char versions[KEY_MAX], seq[KEY_MAX], log[KEY_MAX], field[32], version[64], date[16];
    snprintf(versions, sizeof versions, "rc:mv:{%s}:%s", mark->urn, mark->upn);
    log_keys(mark->urn, seq, log);
    snprintf(field, sizeof field, "%s:%s", date_format(mark->date, date),
             session_str(mark->session));
    snprintf(version, sizeof version, "%" PRId64 ":%d:%u", mark->recorded_at, (int)mark->code,
             (unsigned)mark->minutes_late);
    const char *argv[] = {"FCALL", "rollcall_append_mark", "3", versions, seq, log, field,
                          version, (const char *)env};
    size_t argl[] = {
        5, 20, 1, strlen(versions), strlen(seq), strlen(log), strlen(field), strlen(version), len};
    return redisAppendCommandArgv(redis, 9, argv, argl) == REDIS_OK ? RC_OK : RC_EIO;
}

rc_err_t schoollog_queue_event(redisContext *redis, const char *urn, const uint8_t *env, size_t len)
{
    char seq[KEY_MAX], log[KEY_MAX];
    log_keys(urn, seq, log);
    const char *argv[] = {"FCALL", "rollcall_append", "2", seq, log, (const char *)env};
    size_t argl[] = {5, 15, 1, strlen(seq), strlen(log), len};
    return redisAppendCommandArgv(redis, 6, argv, argl) == REDIS_OK ? RC_OK : RC_EIO;
}

rc_err_t schoollog_queue_event_once(redisContext *redis, const char *urn, const char *event_id,
                                    const uint8_t *env, size_t len)
{
    char seq[KEY_MAX], log[KEY_MAX], ids[KEY_MAX];
    log_keys(urn, seq, log);
    snprintf(ids, sizeof ids, "rc:ids:{%s}", urn);
    const char *argv[] = {"FCALL", "rollcall_append_once", "3",     seq, log,
                          ids,     (const char *)env,      event_id};
    size_t argl[] = {5, 20, 1, strlen(seq), strlen(log), strlen(ids), len, strlen(event_id)};
    return redisAppendCommandArgv(redis, 8, argv, argl) == REDIS_OK ? RC_OK : RC_EIO;
}

rc_err_t schoollog_collect(redisContext *redis, schoollog_result_t *out, const char **why)
{
    void *reply = NULL;
    rc_err_t err = RC_EIO;
    if (redisGetReply(redis, &reply) != REDIS_OK) {
        if (why)
            *why = redis->errstr;
        goto out;
    }
    redisReply *r = reply;
    if (r->type == REDIS_REPLY_ERROR) {
        if (why)
            *why = "Redis refused the append";
        goto out;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_INTEGER || r->element[1]->type != REDIS_REPLY_INTEGER ||
        r->element[1]->integer < 0 || r->element[1]->integer > SCHOOLLOG_DUPLICATE) {
        if (why)
            *why = "unexpected reply from the log function";
        goto out;
    }
    out->seq = (uint64_t)r->element[0]->integer;
    out->status = (schoollog_status_t)r->element[1]->integer;
    err = RC_OK;
out:
    freeReplyObject(reply);
    return err;
}

rc_err_t schoollog_last_seq(redisContext *redis, const char *urn, uint64_t *seq)
{
    char key[KEY_MAX];
    snprintf(key, sizeof key, SCHOOLLOG_SEQ_KEY_FMT, urn);
    redisReply *r = redisCommand(redis, "GET %s", key);
    rc_err_t err = RC_EIO;
    if (r && r->type == REDIS_REPLY_NIL) {
        *seq = 0;
        err = RC_OK;
    } else if (r && r->type == REDIS_REPLY_STRING) {
        char *end;
        *seq = strtoull(r->str, &end, 10);
        err = *end == '\0' ? RC_OK : RC_EPARSE;
    }
    freeReplyObject(r);
    return err;
}

rc_err_t schoollog_read(redisContext *redis, const char *urn, uint64_t after, size_t max,
                        schoollog_entry_fn fn, void *ctx, size_t *n_read)
{
    return schoollog_read_stream(redis, SCHOOLLOG_LOG_KEY_HEAD, urn, after, max, fn, ctx, n_read);
}

rc_err_t schoollog_read_stream(redisContext *redis, const char *key_head, const char *urn,
                               uint64_t after, size_t max, schoollog_entry_fn fn, void *ctx,
                               size_t *n_read)
{
    char key[KEY_MAX], from[32], count[24];
    snprintf(key, sizeof key, "%s%s}", key_head, urn);
    snprintf(from, sizeof from, "%" PRIu64 "-0", after + 1);
    snprintf(count, sizeof count, "%zu", max);
    const char *argv[] = {"XRANGE", key, from, "+", "COUNT", count};
    size_t argl[] = {6, strlen(key), strlen(from), 1, 5, strlen(count)};
    size_t n = 0;
    rc_err_t err = RC_EIO;
    redisReply *r = redisCommandArgv(redis, 6, argv, argl);
    if (!r || r->type != REDIS_REPLY_ARRAY)
        goto out;
    err = RC_OK;
    for (size_t i = 0; i < r->elements; i++) {
        /* each entry: [id, [field, value]] */
        redisReply *e = r->element[i];
        if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
            e->element[0]->type != REDIS_REPLY_STRING || e->element[1]->type != REDIS_REPLY_ARRAY ||
            e->element[1]->elements != 2 || e->element[1]->element[1]->type != REDIS_REPLY_STRING) {
            err = RC_EPARSE;
            break;
        }
        char *end;
        uint64_t seq = strtoull(e->element[0]->str, &end, 10);
        if (*end != '-' || seq <= after) {
            err = RC_EPARSE;
            break;
        }
        redisReply *v = e->element[1]->element[1];
        n++;
        if (fn(ctx, urn, seq, (const uint8_t *)v->str, v->len))
            break;
    }
out:
    freeReplyObject(r);
    if (n_read)
        *n_read = n;
    return err;
}
