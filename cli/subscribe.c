/* subscribe.c - `rollcall subscribe` (an LA's referrals as JSON lines, resumable)
 * and `rollcall keygen` (CURVE key pairs). See subscribe.h. */
#include "subscribe.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>
#include <zmq.h>

#include "rollcall/ids.h"

#define EXIT_OK      0
#define EXIT_REFUSED 1
#define EXIT_USAGE   2
#define EXIT_FAILED  3

#define ERR_MAX        SUBSCRIBE_ERR_MAX
#define PATH_MAX_      1024
#define ANSWER_MAX     (8u << 20) /* bytes of a replay answer we read */
#define REPLAY_TIMEOUT 5000       /* ms to wait for a replay answer */
#define LIVE_BATCH     1024       /* live messages taken per wake-up */
#define TOPIC_ROOT     "referral."
#define MONITOR_REPLAY "inproc://rollcall-subscribe-replay"
#define MONITOR_LIVE   "inproc://rollcall-subscribe-live"
#define STATE_LINE_MAX 64
#define TAIL_MAX       65536 /* bytes of a stdout file read back for its last line */

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
    (void)sig;
    stopping = 1;
}

/* ---- files ---- */

rc_err_t subscribe_key_read(const char *path, char out[SUBSCRIBE_KEY_Z85 + 1], char *err)
{
    char buf[SUBSCRIBE_KEY_Z85 + 4];
    uint8_t bin[32];
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, ERR_MAX, "cannot open %s: %s", path, strerror(errno));
        return RC_EIO;
    }
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        snprintf(err, ERR_MAX, "cannot read %s", path);
        return RC_EIO;
    }
    if (n && buf[n - 1] == '\n')
        n--;
    if (n && buf[n - 1] == '\r')
        n--;
    buf[n] = '\0';
    rc_err_t rc = RC_OK;
    if (n != SUBSCRIBE_KEY_Z85 || !zmq_z85_decode(bin, buf)) {
        snprintf(err, ERR_MAX, "%s does not hold a CURVE key (40 characters of Z85)", path);
        rc = RC_EINVAL;
    } else {
        memcpy(out, buf, SUBSCRIBE_KEY_Z85 + 1);
    }
    sodium_memzero(buf, sizeof buf);
    sodium_memzero(bin, sizeof bin);
    return rc;
}

rc_err_t subscribe_state_read(const char *path, const char *la, uint64_t *last, char *err)
{
    char line[STATE_LINE_MAX + 1], got_la[16];
    unsigned long long id;
    char extra;
    *last = 0;
    FILE *f = fopen(path, "r");
    if (!f) {
        if (errno == ENOENT)
            return RC_OK;
        snprintf(err, ERR_MAX, "cannot open %s: %s", path, strerror(errno));
        return RC_EIO;
    }
    size_t n = fread(line, 1, STATE_LINE_MAX, f);
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        snprintf(err, ERR_MAX, "cannot read %s", path);
        return RC_EIO;
    }
    line[n] = '\0';
    if (sscanf(line, "%15s %llu %c", got_la, &id, &extra) != 2) {
        snprintf(err, ERR_MAX, "%s is not a state file (\"<la> <last id>\")", path);
        return RC_EINVAL;
    }
    if (strcmp(got_la, la) != 0) {
        snprintf(err, ERR_MAX, "%s is the state of LA %s, not %s", path, got_la, la);
        return RC_EINVAL;
    }
    *last = id;
    return RC_OK;
}

rc_err_t subscribe_state_write(const char *path, const char *la, uint64_t last, char *err)
{
    char tmp[PATH_MAX_ + 8], line[STATE_LINE_MAX];
    int len = snprintf(line, sizeof line, "%s %" PRIu64 "\n", la, last);
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
        snprintf(err, ERR_MAX, "the state file's name is too long");
        return RC_EIO;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        snprintf(err, ERR_MAX, "cannot write %s: %s", tmp, strerror(errno));
        return RC_EIO;
    }
    int ok = write(fd, line, (size_t)len) == len && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        snprintf(err, ERR_MAX, "cannot write %s: %s", path, strerror(errno));
        unlink(tmp);
        return RC_EIO;
    }
    return RC_OK;
}

/* stdout_last_id returns, when stdout is a regular file, the id of its last
 * complete line, first cutting off a line torn by a kill mid-write; 0 when
 * stdout is not a file or holds no line of ours. The file is then the
 * record of what was printed, which the state file can lag by one line. */
static uint64_t stdout_last_id(void)
{
    struct stat st;
    char buf[TAIL_MAX + 1];
    uint64_t id = 0;
    if (fstat(STDOUT_FILENO, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size == 0)
        return 0;
    int fd = open("/proc/self/fd/1", O_RDONLY); /* stdout itself is opened write-only */
    if (fd < 0)
        return 0;
    size_t want = st.st_size < TAIL_MAX ? (size_t)st.st_size : TAIL_MAX;
    ssize_t got = pread(fd, buf, want, st.st_size - (off_t)want);
    close(fd);
    if (got != (ssize_t)want)
        return 0;
    size_t end = want; /* one past the last newline */
    while (end > 0 && buf[end - 1] != '\n')
        end--;
    if (end < want && (end > 0 || want == (size_t)st.st_size) &&
        ftruncate(STDOUT_FILENO, st.st_size - (off_t)(want - end)) != 0)
        return 0;
    if (end == 0)
        return 0;
    size_t start = end - 1;
    while (start > 0 && buf[start - 1] != '\n')
        start--;
    json_t *o = json_loadb(buf + start, end - 1 - start, 0, NULL);
    json_t *v = json_object_get(o, "id");
    if (json_is_integer(v) && json_integer_value(v) > 0)
        id = (uint64_t)json_integer_value(v);
    json_decref(o);
    return id;
}

/* ---- options ---- */

typedef struct {
    const char *la, *endpoint, *replay, *server_key, *key, *state;
    int poll_s; /* ask the replay endpoint this often, in seconds */
    int help;
} opts_t;

static void subscribe_usage(FILE *out)
{
    fputs("Usage: rollcall subscribe --la CODE --endpoint ENDPOINT --replay ENDPOINT\n"
          "                          --server-key FILE --key FILE --state FILE [--poll SECONDS]\n"
          "\n"
          "Prints each referral of LA CODE from rollcall-reports as one JSON line on stdout,\n"
          "once, as it happens; after a restart it resumes after the last one printed.\n"
          "\n"
          "  --la CODE            the LA's 3-digit code (the server checks the key is its)\n"
          "  --endpoint ENDPOINT  reports' la_pub_endpoint, e.g. tcp://127.0.0.1:5563\n"
          "  --replay ENDPOINT    reports' la_replay_endpoint, e.g. tcp://127.0.0.1:5564\n"
          "  --server-key FILE    reports' CURVE public key (its `rollcall keygen` NAME.pub)\n"
          "  --key FILE           this client's CURVE secret key (NAME.key); its public key\n"
          "                       must be in reports' la_clients_file\n"
          "  --state FILE         the last id printed, kept across restarts\n"
          "  --poll SECONDS       also ask for missed referrals this often (default 10)\n"
          "\n"
          "Exit status: 0 after Ctrl-C or SIGTERM, 1 when the server refuses the key,\n"
          "2 for a bad command line, 3 for other failures. docs/la-feed.md has more.\n",
          out);
}

static int parse_args(int argc, char **argv, opts_t *o, char *err)
{
    memset(o, 0, sizeof *o);
    o->poll_s = 10;
    struct {
        const char *name;
        const char **dst;
    } strs[] = {{"--la", &o->la},         {"--endpoint", &o->endpoint},
                {"--replay", &o->replay}, {"--server-key", &o->server_key},
                {"--key", &o->key},       {"--state", &o->state}};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            o->help = 1;
            return 0;
        }
        size_t k;
        for (k = 0; k < sizeof strs / sizeof *strs; k++)
            if (strcmp(a, strs[k].name) == 0)
                break;
        int is_poll = strcmp(a, "--poll") == 0;
        if (k == sizeof strs / sizeof *strs && !is_poll) {
            snprintf(err, ERR_MAX, "unknown option '%s'", a);
            return -1;
        }
        if (i + 1 >= argc) {
            snprintf(err, ERR_MAX, "%s needs a value", a);
            return -1;
        }
        const char *v = argv[++i];
        if (is_poll) {
            char *end;
            long s = strtol(v, &end, 10);
            if (*end || end == v || s < 1 || s > 3600) {
                snprintf(err, ERR_MAX, "--poll: expected 1 to 3600 seconds");
                return -1;
            }
            o->poll_s = (int)s;
        } else {
            *strs[k].dst = v;
        }
    }
    for (size_t k = 0; k < sizeof strs / sizeof *strs; k++)
        if (!*strs[k].dst) {
            snprintf(err, ERR_MAX, "%s is required", strs[k].name);
            return -1;
        }
    const char *why;
    if (la_code_check(o->la, strlen(o->la), &why) != RC_OK) {
        snprintf(err, ERR_MAX, "--la: %s", why);
        return -1;
    }
    if (strlen(o->state) >= PATH_MAX_) {
        snprintf(err, ERR_MAX, "--state: the name is too long");
        return -1;
    }
    return 0;
}

/* ---- the subscriber ---- */

typedef struct {
    opts_t o;
    void *zmq, *live, *replay, *mon_live, *mon_replay;
    uint64_t last; /* the last id printed */
    int64_t req;   /* the last replay request's number */
    int fatal;     /* EXIT_* when the run must end, else 0 */
} sub_t;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

__attribute__((format(printf, 1, 2))) static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "rollcall subscribe: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* curve_client makes s a CURVE client of the server, under our keys. */
static int curve_client(void *s, const char *server, const char *secret)
{
    char public[SUBSCRIBE_KEY_Z85 + 1];
    int linger = 0, rc = 0;
    if (zmq_curve_public(public, secret) != 0)
        return -1;
    rc |= zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    rc |= zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, server, SUBSCRIBE_KEY_Z85);
    rc |= zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, public, SUBSCRIBE_KEY_Z85);
    rc |= zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, secret, SUBSCRIBE_KEY_Z85);
    return rc;
}

/* watch opens a monitor of s reporting failed authentication on a PAIR. */
static void *watch(void *zmq, void *s, const char *at)
{
    void *pair;
    int linger = 0;
    if (zmq_socket_monitor(s, at, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) != 0 ||
        !(pair = zmq_socket(zmq, ZMQ_PAIR)))
        return NULL;
    zmq_setsockopt(pair, ZMQ_LINGER, &linger, sizeof linger);
    if (zmq_connect(pair, at) != 0) {
        zmq_close(pair);
        return NULL;
    }
    return pair;
}

/* on_monitor reads a monitor event: a failed authentication ends the run. */
static void on_monitor(sub_t *s, void *pair)
{
    zmq_msg_t ev, addr;
    zmq_msg_init(&ev);
    zmq_msg_init(&addr);
    if (zmq_msg_recv(&ev, pair, ZMQ_DONTWAIT) >= 0 && zmq_msg_recv(&addr, pair, 0) >= 0 &&
        zmq_msg_size(&ev) >= 6) {
        uint16_t event;
        uint32_t value;
        memcpy(&event, zmq_msg_data(&ev), 2);
        memcpy(&value, (uint8_t *)zmq_msg_data(&ev) + 2, 4);
        if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
            char status[16];
            snprintf(status, sizeof status, "%u", value);
            say("the server refused this key (ZAP status %s): is its public key in reports' "
                "la_clients_file?",
                status);
            s->fatal = EXIT_REFUSED;
        }
    }
    zmq_msg_close(&ev);
    zmq_msg_close(&addr);
}

/* emit prints one entry and records its id; 0, or -1 after setting fatal. */
static int emit(sub_t *s, json_t *entry, uint64_t id)
{
    char err[ERR_MAX];
    char *line = json_dumps(entry, JSON_COMPACT);
    if (!line) {
        say("out of memory");
        s->fatal = EXIT_FAILED;
        return -1;
    }
    size_t len = strlen(line);
    line[len] = '\n'; /* json_dumps leaves room: the NUL becomes the newline */
    int ok = fwrite(line, 1, len + 1, stdout) == len + 1 && fflush(stdout) == 0;
    free(line);
    if (!ok) {
        say("cannot write to stdout: %s", strerror(errno));
        s->fatal = EXIT_FAILED;
        return -1;
    }
    s->last = id;
    if (subscribe_state_write(s->o.state, s->o.la, id, err) != RC_OK) {
        say("%s", err);
        s->fatal = EXIT_FAILED;
        return -1;
    }
    return 0;
}

static uint64_t entry_id(json_t *e)
{
    json_t *id = json_object_get(e, "id");
    return json_is_integer(id) && json_integer_value(id) > 0 ? (uint64_t)json_integer_value(id) : 0;
}

/* ask_page sends one replay request and waits for its answer; NULL when
 * none came (or the run must end). */
static json_t *ask_page(sub_t *s)
{
    char body[96];
    int len = snprintf(body, sizeof body, "{\"req\":%" PRId64 ",\"after\":%" PRIu64 "}", ++s->req,
                       s->last);
    int64_t until = now_ms() + REPLAY_TIMEOUT;
    /* ZMQ_IMMEDIATE: the request waits for a connection (its handshake
     * included) rather than queueing where none is. */
    while (zmq_send(s->replay, body, (size_t)len, ZMQ_DONTWAIT) < 0) {
        int again = zmq_errno() == EAGAIN;
        int64_t left = until - now_ms();
        if (stopping || s->fatal || left <= 0 || !again)
            return NULL;
        zmq_pollitem_t items[2] = {{.socket = s->replay, .events = ZMQ_POLLOUT},
                                   {.socket = s->mon_replay, .events = ZMQ_POLLIN}};
        if (zmq_poll(items, 2, (long)left) > 0 && (items[1].revents & ZMQ_POLLIN))
            on_monitor(s, s->mon_replay);
    }
    while (!stopping && !s->fatal) {
        int64_t left = until - now_ms();
        if (left <= 0)
            return NULL;
        zmq_pollitem_t items[2] = {{.socket = s->replay, .events = ZMQ_POLLIN},
                                   {.socket = s->mon_replay, .events = ZMQ_POLLIN}};
        if (zmq_poll(items, 2, (long)left) < 0)
            continue; /* EINTR: the loop sees stopping */
        if (items[1].revents & ZMQ_POLLIN)
            on_monitor(s, s->mon_replay);
        if (!(items[0].revents & ZMQ_POLLIN))
            continue;
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, s->replay, 0) < 0) {
            zmq_msg_close(&m);
            continue;
        }
        json_t *a = NULL;
        if (zmq_msg_size(&m) <= ANSWER_MAX)
            a = json_loadb(zmq_msg_data(&m), zmq_msg_size(&m), 0, NULL);
        zmq_msg_close(&m);
        json_t *req = json_object_get(a, "req");
        if (json_is_integer(req) && json_integer_value(req) == s->req)
            return a;
        json_decref(a); /* an answer to an earlier request that timed out */
    }
    return NULL;
}

/* catch_up prints every entry after s->last the replay endpoint has. */
static void catch_up(sub_t *s)
{
    while (!stopping && !s->fatal) {
        json_t *a = ask_page(s);
        if (!a) {
            if (!stopping && !s->fatal)
                say("no answer from %s; asking again later", s->o.replay);
            return;
        }
        json_t *entries = json_object_get(a, "entries"), *e;
        const char *la = json_string_value(json_object_get(a, "la"));
        json_t *last = json_object_get(a, "last");
        size_t i;
        if (json_is_string(json_object_get(a, "error"))) {
            say("the replay endpoint says: %s", json_string_value(json_object_get(a, "error")));
            json_decref(a);
            return;
        }
        if (!la || strcmp(la, s->o.la) != 0) {
            say("the server knows this key as LA %s, not %s", la ? la : "?", s->o.la);
            s->fatal = EXIT_REFUSED;
            json_decref(a);
            return;
        }
        if (!json_is_array(entries) || !json_is_integer(last)) {
            say("the replay endpoint sent something else than a page of referrals");
            json_decref(a);
            return;
        }
        json_array_foreach(entries, i, e)
        {
            uint64_t id = entry_id(e);
            if (id <= s->last)
                continue;
            if (id != s->last + 1) {
                char want[24];
                snprintf(want, sizeof want, "%" PRIu64, s->last + 1);
                say("the server's log no longer holds id %s (trimmed?); stopping", want);
                s->fatal = EXIT_FAILED;
                break;
            }
            if (emit(s, e, id) != 0)
                break;
        }
        int done = json_array_size(entries) == 0 ||
                   (json_integer_value(last) >= 0 && s->last >= (uint64_t)json_integer_value(last));
        json_decref(a);
        if (done)
            return;
    }
}

/* on_live takes the live messages waiting: prints the next one, drops
 * those printed already, and catches up on a gap. */
static void on_live(sub_t *s)
{
    for (int k = 0; k < LIVE_BATCH && !s->fatal; k++) {
        zmq_msg_t topic, body;
        zmq_msg_init(&topic);
        zmq_msg_init(&body);
        if (zmq_msg_recv(&topic, s->live, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&topic);
            zmq_msg_close(&body);
            return;
        }
        json_t *e = NULL;
        if (zmq_msg_more(&topic) && zmq_msg_recv(&body, s->live, 0) >= 0 &&
            zmq_msg_size(&body) <= ANSWER_MAX)
            e = json_loadb(zmq_msg_data(&body), zmq_msg_size(&body), 0, NULL);
        zmq_msg_close(&topic);
        zmq_msg_close(&body);
        const char *la = json_string_value(json_object_get(e, "la"));
        uint64_t id = entry_id(e);
        if (id && la && strcmp(la, s->o.la) == 0) {
            if (id == s->last + 1)
                emit(s, e, id);
            else if (id > s->last + 1)
                catch_up(s); /* a gap: the log has it, and this one */
        }
        json_decref(e);
    }
}

static int open_sockets(sub_t *s, const char *server, const char *secret)
{
    int one = 1;
    char prefix[32];
    snprintf(prefix, sizeof prefix, TOPIC_ROOT "%s.", s->o.la);
    if (!(s->zmq = zmq_ctx_new()) || !(s->live = zmq_socket(s->zmq, ZMQ_SUB)) ||
        !(s->replay = zmq_socket(s->zmq, ZMQ_DEALER)))
        return -1;
    if (curve_client(s->live, server, secret) != 0 ||
        curve_client(s->replay, server, secret) != 0 ||
        zmq_setsockopt(s->replay, ZMQ_IMMEDIATE, &one, sizeof one) != 0 ||
        zmq_setsockopt(s->live, ZMQ_SUBSCRIBE, prefix, strlen(prefix)) != 0)
        return -1;
    if (!(s->mon_live = watch(s->zmq, s->live, MONITOR_LIVE)) ||
        !(s->mon_replay = watch(s->zmq, s->replay, MONITOR_REPLAY)))
        return -1;
    if (zmq_connect(s->live, s->o.endpoint) != 0) {
        say("cannot connect to %s: %s", s->o.endpoint, zmq_strerror(zmq_errno()));
        return -2;
    }
    if (zmq_connect(s->replay, s->o.replay) != 0) {
        say("cannot connect to %s: %s", s->o.replay, zmq_strerror(zmq_errno()));
        return -2;
    }
    return 0;
}

static void close_sockets(sub_t *s)
{
    void **socks[] = {&s->mon_live, &s->mon_replay, &s->live, &s->replay};
    for (size_t i = 0; i < sizeof socks / sizeof *socks; i++)
        if (*socks[i]) {
            zmq_close(*socks[i]);
            *socks[i] = NULL;
        }
    if (s->zmq)
        zmq_ctx_term(s->zmq);
    s->zmq = NULL;
}

int subscribe_main(int argc, char **argv)
{
    sub_t s = {0};
    char err[ERR_MAX], server[SUBSCRIBE_KEY_Z85 + 1], secret[SUBSCRIBE_KEY_Z85 + 1];
    int status = EXIT_FAILED;

    if (parse_args(argc, argv, &s.o, err) != 0) {
        fprintf(stderr, "rollcall subscribe: %s\nTry 'rollcall subscribe --help'.\n", err);
        return EXIT_USAGE;
    }
    if (s.o.help) {
        subscribe_usage(stdout);
        return EXIT_OK;
    }
    if (subscribe_key_read(s.o.server_key, server, err) != RC_OK ||
        subscribe_key_read(s.o.key, secret, err) != RC_OK ||
        subscribe_state_read(s.o.state, s.o.la, &s.last, err) != RC_OK) {
        say("%s", err);
        return EXIT_USAGE;
    }
    uint64_t printed = stdout_last_id();
    if (printed > s.last)
        s.last = printed; /* killed after printing it, before recording it */
    struct sigaction sa = {0};
    sa.sa_handler = on_signal; /* no SA_RESTART: zmq_poll returns on a signal */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    int rc = open_sockets(&s, server, secret);
    sodium_memzero(secret, sizeof secret);
    if (rc != 0) {
        if (rc == -1)
            say("cannot set up the sockets: %s", zmq_strerror(zmq_errno()));
        goto out;
    }
    /* Live messages queue on the SUB while the log is read; those already
     * printed by then are dropped. */
    catch_up(&s);
    int64_t next_poll = now_ms() + (int64_t)s.o.poll_s * 1000;
    while (!stopping && !s.fatal) {
        zmq_pollitem_t items[3] = {{.socket = s.live, .events = ZMQ_POLLIN},
                                   {.socket = s.mon_live, .events = ZMQ_POLLIN},
                                   {.socket = s.mon_replay, .events = ZMQ_POLLIN}};
        int64_t wait = next_poll - now_ms();
        if (zmq_poll(items, 3, wait > 0 ? (long)wait : 0) < 0 && zmq_errno() != EINTR) {
            say("poll failed: %s", zmq_strerror(zmq_errno()));
            goto out;
        }
        if (items[1].revents & ZMQ_POLLIN)
            on_monitor(&s, s.mon_live);
        if (items[2].revents & ZMQ_POLLIN)
            on_monitor(&s, s.mon_replay);
        if (items[0].revents & ZMQ_POLLIN)
            on_live(&s);
        if (!stopping && !s.fatal && now_ms() >= next_poll) {
            catch_up(&s); /* the last live messages may be lost with nothing after them */
            next_poll = now_ms() + (int64_t)s.o.poll_s * 1000;
        }
    }
    status = s.fatal ? s.fatal : EXIT_OK;
out:
    close_sockets(&s);
    return status;
}

/* ---- keygen ---- */

static int write_key(const char *path, const char *z85, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
    if (fd < 0) {
        fprintf(stderr, "rollcall keygen: cannot create %s: %s\n", path, strerror(errno));
        return -1;
    }
    char line[SUBSCRIBE_KEY_Z85 + 2];
    memcpy(line, z85, SUBSCRIBE_KEY_Z85);
    line[SUBSCRIBE_KEY_Z85] = '\n';
    int ok = write(fd, line, sizeof line - 1) == (ssize_t)(sizeof line - 1) && fsync(fd) == 0;
    sodium_memzero(line, sizeof line);
    ok = close(fd) == 0 && ok;
    if (!ok) {
        fprintf(stderr, "rollcall keygen: cannot write %s: %s\n", path, strerror(errno));
        unlink(path);
    }
    return ok ? 0 : -1;
}

int keygen_main(int argc, char **argv)
{
    char pub[SUBSCRIBE_KEY_Z85 + 1], sec[SUBSCRIBE_KEY_Z85 + 1];
    char pub_path[PATH_MAX_ + 8], sec_path[PATH_MAX_ + 8];
    if (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        fputs("Usage: rollcall keygen NAME\n"
              "\n"
              "Writes a new CURVE key pair: NAME.key, the secret key (mode 0600) and NAME.pub,\n"
              "the public key. Existing files are never overwritten.\n"
              "\n"
              "For the LA referral feed: reports' la_curve_secret_file is a NAME.key and its\n"
              "NAME.pub the subscribers' --server-key; a subscriber's NAME.key is its --key\n"
              "and its NAME.pub a line of reports' la_clients_file (docs/la-feed.md).\n"
              "For the links between services: every service's curve_secret_file is the\n"
              "same NAME.key (deploy/README.md).\n",
              stdout);
        return EXIT_OK;
    }
    if (argc != 2 || !argv[1][0] || strlen(argv[1]) >= PATH_MAX_) {
        fprintf(stderr, "rollcall keygen: expected one NAME\nTry 'rollcall keygen --help'.\n");
        return EXIT_USAGE;
    }
    snprintf(sec_path, sizeof sec_path, "%s.key", argv[1]);
    snprintf(pub_path, sizeof pub_path, "%s.pub", argv[1]);
    if (zmq_curve_keypair(pub, sec) != 0) {
        fprintf(stderr, "rollcall keygen: this libzmq has no CURVE: %s\n",
                zmq_strerror(zmq_errno()));
        return EXIT_FAILED;
    }
    int ok = write_key(sec_path, sec, 0600) == 0;
    sodium_memzero(sec, sizeof sec);
    if (ok && write_key(pub_path, pub, 0644) != 0) {
        unlink(sec_path);
        ok = 0;
    }
    if (!ok)
        return EXIT_FAILED;
    printf("wrote %s (secret: keep it so) and %s\n", sec_path, pub_path);
    return EXIT_OK;
}
