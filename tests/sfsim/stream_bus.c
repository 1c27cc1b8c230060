/*
 * The event bus: per channel, a ring of retained events serialised once,
 * replay ids that only grow (with random gaps, 64-bit), retention by age and
 * by count. Callers hold st->lock.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stream_int.h"

void stream_iso_time(int64_t wall_ms, char *out, size_t size)
{
    time_t s = (time_t)(wall_ms / 1000);
    struct tm tm;
    size_t n;

    gmtime_r(&s, &tm);
    n = strftime(out, size, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, size - n, ".%03dZ", (int)(wall_ms % 1000));
}

void stream_json_str(struct sfc_buf *b, const char *s)
{
    cJSON *str = cJSON_CreateString(s ? s : "");
    char *txt = cJSON_PrintUnformatted(str);

    sfc_buf_append(b, txt, strlen(txt));
    free(txt);
    cJSON_Delete(str);
}

/* CDC and platform events are kept 72 h, the rest 24 h. */
static bool long_retention(const char *name)
{
    return strncmp(name, "/data/", 6) == 0 || strncmp(name, "/event/", 7) == 0;
}

struct stream_channel *
stream_channel_get(struct sim_stream *st, const char *name, bool create)
{
    struct stream_channel *ch;

    for (ch = st->channels; ch; ch = ch->next)
        if (strcmp(ch->name, name) == 0)
            return ch;
    if (!create)
        return NULL;
    ch = sfc_xcalloc(1, sizeof(*ch));
    ch->name = sfc_xstrdup(name);
    /* Change events start past 2^32 to catch 32-bit replay id bugs. */
    ch->next_replay = strncmp(name, "/data/", 6) == 0
                          ? 4294967296LL + (int64_t)(sim_rand(st->sim) % 100)
                          : 1 + (int64_t)(sim_rand(st->sim) % 1000);
    if (st->set.first_replay > 0)
        ch->next_replay = st->set.first_replay;
    ch->next = st->channels;
    st->channels = ch;
    return ch;
}

static void drop_oldest(struct stream_channel *ch)
{
    free(ch->ev[ch->head].json);
    ch->head = (ch->head + 1) % ch->cap;
    ch->count--;
}

static void grow(struct stream_channel *ch, size_t max)
{
    size_t cap = ch->cap ? ch->cap * 2 : 64;
    struct stream_event *ev;

    if (cap > max)
        cap = max;
    ev = sfc_xcalloc(cap, sizeof(*ev));
    for (size_t i = 0; i < ch->count; i++)
        ev[i] = ch->ev[(ch->head + i) % ch->cap];
    free(ch->ev);
    ch->ev = ev;
    ch->cap = cap;
    ch->head = 0;
}

int64_t stream_publish(struct sim_stream *st,
                       const char *channel,
                       const char *before,
                       const char *after,
                       int64_t created_ms)
{
    struct stream_channel *ch = stream_channel_get(st, channel, true);
    struct stream_event *e;
    char num[24];
    size_t lb = strlen(before), la = strlen(after), ln;

    if (ch->count == st->set.max_events)
        drop_oldest(ch);
    if (ch->count == ch->cap)
        grow(ch, st->set.max_events);
    e = &ch->ev[(ch->head + ch->count) % ch->cap];
    e->replay = ch->next_replay;
    /* Gaps: ids are increasing, not contiguous. */
    ch->next_replay += 1 + (int64_t)(sim_rand(st->sim) % 3);
    ch->last_replay = e->replay;
    e->created_ms = created_ms;
    ln = (size_t)snprintf(num, sizeof(num), "%lld", (long long)e->replay);
    e->len = lb + ln + la;
    e->json = sfc_xmalloc(e->len + 1);
    memcpy(e->json, before, lb);
    memcpy(e->json + lb, num, ln);
    memcpy(e->json + lb + ln, after, la + 1);
    ch->count++;
    ch->published++;
    sim_stats_add(st->sim, "stream_events_published", 1);
    pthread_cond_broadcast(&st->cond);
    return e->replay;
}

const struct stream_event *stream_channel_at(const struct stream_channel *ch,
                                             size_t i)
{
    return &ch->ev[(ch->head + i) % ch->cap];
}

size_t stream_channel_after(const struct stream_channel *ch, int64_t cursor)
{
    size_t lo = 0, hi = ch->count;

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;

        if (stream_channel_at(ch, mid)->replay <= cursor)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

bool stream_channel_knows(const struct stream_channel *ch, int64_t replay)
{
    size_t i = stream_channel_after(ch, replay - 1);

    return i < ch->count && stream_channel_at(ch, i)->replay == replay;
}

int64_t stream_channel_oldest(const struct stream_channel *ch)
{
    return ch->count ? stream_channel_at(ch, 0)->replay : ch->last_replay;
}

void stream_expire(struct sim_stream *st, int64_t now_wall_ms)
{
    for (struct stream_channel *ch = st->channels; ch; ch = ch->next) {
        int64_t keep = long_retention(ch->name) ? st->set.retention_long_ms
                                                : st->set.retention_ms;

        while (ch->count &&
               stream_channel_at(ch, 0)->created_ms < now_wall_ms - keep)
            drop_oldest(ch);
    }
}

void stream_channels_free(struct sim_stream *st)
{
    struct stream_channel *ch = st->channels, *next;

    for (; ch; ch = next) {
        next = ch->next;
        while (ch->count)
            drop_oldest(ch);
        free(ch->ev);
        free(ch->name);
        free(ch);
    }
    st->channels = NULL;
}
