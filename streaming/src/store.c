/*
 * Replay stores behind one interface: memory, and a JSON file replaced
 * atomically so that a kill at any instant leaves a valid file.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "stream_int.h"

struct sfc_replay_store {
    struct sfc_replay_store_ops ops;
    void *ctx;
};

struct sfc_replay_store *
sfc_replay_store_new(const struct sfc_replay_store_ops *ops, void *ctx)
{
    struct sfc_replay_store *s = sfc_xcalloc(1, sizeof(*s));

    s->ops = *ops;
    s->ctx = ctx;
    return s;
}

sfc_err_t sfc_replay_store_get(struct sfc_replay_store *s,
                               const char *channel,
                               int64_t *replay,
                               bool *found)
{
    return s->ops.get(s->ctx, channel, replay, found);
}

sfc_err_t sfc_replay_store_set(struct sfc_replay_store *s,
                               const char *channel,
                               int64_t replay)
{
    return s->ops.set(s->ctx, channel, replay);
}

sfc_err_t sfc_replay_store_flush(struct sfc_replay_store *s)
{
    return s->ops.flush ? s->ops.flush(s->ctx) : SFC_OK;
}

void sfc_replay_store_deadline(struct sfc_replay_store *s, int64_t until_ms)
{
    if (s->ops.deadline)
        s->ops.deadline(s->ctx, until_ms);
}

void sfc_replay_store_destroy(struct sfc_replay_store *s)
{
    if (!s)
        return;
    if (s->ops.flush)
        s->ops.flush(s->ctx);
    if (s->ops.destroy)
        s->ops.destroy(s->ctx);
    free(s);
}

/*
 * The memory store: channel -> replay id, exact (a JSON number in cJSON is
 * a double, which rounds ids above 2^53).
 */
struct mem_entry {
    char *channel;
    int64_t replay;
};

struct mem_store {
    struct mem_entry *e;
    size_t n, cap;
    /* File store only: */
    char *path;
    int64_t min_interval_ms;
    int64_t last_write_ms;
    bool dirty;
};

static struct mem_entry *mem_find(struct mem_store *m, const char *channel)
{
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->e[i].channel, channel) == 0)
            return &m->e[i];
    return NULL;
}

static sfc_err_t
mem_get(void *ctx, const char *channel, int64_t *replay, bool *found)
{
    struct mem_entry *e = mem_find(ctx, channel);

    *found = e != NULL;
    if (e)
        *replay = e->replay;
    return SFC_OK;
}

static void mem_put(struct mem_store *m, const char *channel, int64_t replay)
{
    struct mem_entry *e = mem_find(m, channel);

    if (!e) {
        if (m->n == m->cap) {
            m->cap = m->cap ? m->cap * 2 : 8;
            m->e = sfc_xrealloc(m->e, m->cap * sizeof(*m->e));
        }
        e = &m->e[m->n++];
        e->channel = sfc_xstrdup(channel);
    }
    e->replay = replay;
}

static sfc_err_t mem_set(void *ctx, const char *channel, int64_t replay)
{
    mem_put(ctx, channel, replay);
    return SFC_OK;
}

static void mem_destroy(void *ctx)
{
    struct mem_store *m = ctx;

    for (size_t i = 0; i < m->n; i++)
        free(m->e[i].channel);
    free(m->e);
    free(m->path);
    free(m);
}

struct sfc_replay_store *sfc_replay_store_new_memory(void)
{
    static const struct sfc_replay_store_ops ops = {
        .get = mem_get, .set = mem_set, .destroy = mem_destroy};

    return sfc_replay_store_new(&ops, sfc_xcalloc(1, sizeof(struct mem_store)));
}

/* The map as JSON text, {"channel": id, ...}, ids in all their digits. */
static char *file_text(const struct mem_store *m)
{
    struct sfc_buf b;
    char num[24];

    sfc_buf_init(&b, 0);
    sfc_buf_append(&b, "{", 1);
    for (size_t i = 0; i < m->n; i++) {
        cJSON *k = cJSON_CreateString(m->e[i].channel);
        char *kt = cJSON_PrintUnformatted(k);

        num[sfc_fmt_i64(num, m->e[i].replay)] = '\0';
        sfc_buf_appendf(&b, "%s\n  %s: %s", i ? "," : "", kt, num);
        free(kt);
        cJSON_Delete(k);
    }
    sfc_buf_append(&b, "\n}\n", 3);
    return sfc_buf_steal(&b);
}

/*
 * Reads {"channel": id, ...}: the tree gives the keys, the text the ids'
 * digits. False with @why when it is not such an object.
 */
static bool file_read(
    struct mem_store *m, const char *text, size_t len, char *why, size_t whysz)
{
    cJSON *map = sfc_json_parse(text, len, 0, why, whysz), *v;

    if (!cJSON_IsObject(map)) {
        if (map)
            sfc_errstr_set(why, whysz, "not an object");
        cJSON_Delete(map);
        return false;
    }
    cJSON_ArrayForEach(v, map)
    {
        const char *val = NULL;
        size_t vl = 0;
        char *end = NULL, digits[32];
        long long id;

        if (!cJSON_IsNumber(v) || !v->string) {
            sfc_errstr_set(why, whysz, "the value of a channel is no number");
            cJSON_Delete(map);
            return false;
        }
        /* A key written with escapes: the tree's value, when exact. */
        if (sfc_json_member_find(text, len, v->string, &val, &vl) !=
                SFC_JSON_FOUND ||
            vl >= sizeof(digits)) {
            if (v->valuedouble > 9007199254740992.0 ||
                v->valuedouble < -9007199254740992.0) {
                sfc_errstr_set(why, whysz, "replay id of %s unreadable",
                               v->string);
                cJSON_Delete(map);
                return false;
            }
            mem_put(m, v->string, (int64_t)v->valuedouble);
            continue;
        }
        memcpy(digits, val, vl);
        digits[vl] = '\0';
        errno = 0;
        id = strtoll(digits, &end, 10);
        if (errno || *end) {
            sfc_errstr_set(why, whysz, "replay id of %s is no 64-bit integer",
                           v->string);
            cJSON_Delete(map);
            return false;
        }
        mem_put(m, v->string, id);
    }
    cJSON_Delete(map);
    return true;
}

/* Writes the whole map to path.tmp, fsyncs, renames, fsyncs the directory. */
static sfc_err_t file_write(struct mem_store *m)
{
    char *tmp = sfc_xasprintf("%s.tmp", m->path);
    char *text = file_text(m);
    char *dir_copy = sfc_xstrdup(m->path);
    size_t len = strlen(text), off = 0;
    sfc_err_t rc = SFC_ERR_IO;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);

    if (fd < 0)
        goto out_free;
    while (off < len) {
        ssize_t n = write(fd, text + off, len - off);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            goto out_close;
        off += (size_t)n;
    }
    if (fsync(fd) != 0)
        goto out_close;
    close(fd);
    fd = -1;
    if (rename(tmp, m->path) != 0)
        goto out_close;
    fd = open(dirname(dir_copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0)
        fsync(fd);
    m->dirty = false;
    m->last_write_ms = sfc_now_ms();
    rc = SFC_OK;
out_close:
    if (fd >= 0)
        close(fd);
out_free:
    if (rc != SFC_OK)
        sfc_log(SFC_LOG_ERROR, STREAM_MOD, "cannot write replay file %s: %s",
                m->path, strerror(errno));
    free(dir_copy);
    free(text);
    free(tmp);
    return rc;
}

static sfc_err_t file_set(void *ctx, const char *channel, int64_t replay)
{
    struct mem_store *m = ctx;

    mem_put(m, channel, replay);
    m->dirty = true;
    if (sfc_now_ms() - m->last_write_ms >= m->min_interval_ms)
        return file_write(m);
    return SFC_OK;
}

static sfc_err_t file_flush(void *ctx)
{
    struct mem_store *m = ctx;

    return m->dirty ? file_write(m) : SFC_OK;
}

struct sfc_replay_store *sfc_replay_store_new_file(const char *path,
                                                   int64_t min_interval_ms,
                                                   char *errstr,
                                                   size_t errstr_size)
{
    static const struct sfc_replay_store_ops ops = {.get = mem_get,
                                                    .set = file_set,
                                                    .flush = file_flush,
                                                    .destroy = mem_destroy};
    struct mem_store *m;
    struct sfc_buf b;
    char chunk[4096], why[128];
    FILE *f = fopen(path, "r");
    size_t n;

    if (!f && errno != ENOENT) {
        sfc_errstr_set(errstr, errstr_size, "cannot read replay file %s: %s",
                       path, strerror(errno));
        return NULL;
    }
    m = sfc_xcalloc(1, sizeof(*m));
    if (f) {
        bool ok;

        sfc_buf_init(&b, 64u << 20);
        while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
            sfc_buf_append(&b, chunk, n);
        fclose(f);
        ok = !b.len || file_read(m, b.data, b.len, why, sizeof(why));
        sfc_buf_free(&b);
        if (!ok) {
            sfc_errstr_set(errstr, errstr_size,
                           "replay file %s is corrupt (%s); move it away to "
                           "start over",
                           path, why);
            mem_destroy(m);
            return NULL;
        }
    }
    m->path = sfc_xstrdup(path);
    m->min_interval_ms = min_interval_ms;
    return sfc_replay_store_new(&ops, m);
}
