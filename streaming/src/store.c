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

/* The memory store: a JSON object of channel -> replay id. */
struct mem_store {
    cJSON *map;
    /* File store only: */
    char *path;
    int64_t min_interval_ms;
    int64_t last_write_ms;
    bool dirty;
};

static sfc_err_t
mem_get(void *ctx, const char *channel, int64_t *replay, bool *found)
{
    struct mem_store *m = ctx;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(m->map, channel);

    *found = cJSON_IsNumber(v);
    if (*found)
        *replay = (int64_t)v->valuedouble;
    return SFC_OK;
}

static void mem_put(struct mem_store *m, const char *channel, int64_t replay)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(m->map, channel);

    if (v)
        cJSON_SetNumberValue(v, (double)replay);
    else
        cJSON_AddNumberToObject(m->map, channel, (double)replay);
}

static sfc_err_t mem_set(void *ctx, const char *channel, int64_t replay)
{
    mem_put(ctx, channel, replay);
    return SFC_OK;
}

static void mem_destroy(void *ctx)
{
    struct mem_store *m = ctx;

    cJSON_Delete(m->map);
    free(m->path);
    free(m);
}

struct sfc_replay_store *sfc_replay_store_new_memory(void)
{
    static const struct sfc_replay_store_ops ops = {
        .get = mem_get, .set = mem_set, .destroy = mem_destroy};
    struct mem_store *m = sfc_xcalloc(1, sizeof(*m));

    m->map = cJSON_CreateObject();
    return sfc_replay_store_new(&ops, m);
}

/* Writes the whole map to path.tmp, fsyncs, renames, fsyncs the directory. */
static sfc_err_t file_write(struct mem_store *m)
{
    char *tmp = sfc_xasprintf("%s.tmp", m->path);
    char *text = cJSON_Print(m->map);
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
    char chunk[4096], err[128];
    FILE *f = fopen(path, "r");
    cJSON *map = NULL;
    size_t n;

    if (!f && errno != ENOENT) {
        sfc_errstr_set(errstr, errstr_size, "cannot read replay file %s: %s",
                       path, strerror(errno));
        return NULL;
    }
    if (f) {
        sfc_buf_init(&b, 64u << 20);
        while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
            sfc_buf_append(&b, chunk, n);
        fclose(f);
        map = b.len ? sfc_json_parse(b.data, b.len, 0, err, sizeof(err))
                    : cJSON_CreateObject();
        sfc_buf_free(&b);
        if (!cJSON_IsObject(map)) {
            sfc_errstr_set(errstr, errstr_size,
                           "replay file %s is corrupt (%s); move it away to "
                           "start over",
                           path, map ? "not an object" : err);
            cJSON_Delete(map);
            return NULL;
        }
    }
    m = sfc_xcalloc(1, sizeof(*m));
    m->map = map ? map : cJSON_CreateObject();
    m->path = sfc_xstrdup(path);
    m->min_interval_ms = min_interval_ms;
    return sfc_replay_store_new(&ops, m);
}
