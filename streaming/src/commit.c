/*
 * The commit rule, per subscribed channel: the stored position is the
 * largest replay id X such that every event received with an id up to X
 * was acknowledged, and it never goes below what the store held. Ids are
 * tracked from receipt to acknowledgement in an ascending array (servers
 * deliver in order, so receipt is an append and the commit pops from the
 * front; out-of-order ids are inserted where they belong).
 */
#include <stdlib.h>
#include <string.h>

#include "stream_int.h"

/* Index (from head) of the first entry >= @id. */
static size_t lower_bound(const struct stream_track *t, int64_t id)
{
    size_t lo = 0, hi = t->n;

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;

        if (t->id[t->head + mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void make_room(struct stream_track *t)
{
    if (t->head + t->n < t->cap)
        return;
    if (t->head > t->cap / 2) { /* slide down instead of growing */
        memmove(t->id, t->id + t->head, t->n * sizeof(*t->id));
        memmove(t->unacked, t->unacked + t->head, t->n * sizeof(*t->unacked));
        t->head = 0;
        return;
    }
    t->cap = t->cap ? t->cap * 2 : 64;
    t->id = sfc_xrealloc(t->id, t->cap * sizeof(*t->id));
    t->unacked = sfc_xrealloc(t->unacked, t->cap * sizeof(*t->unacked));
}

void stream_track_free(struct stream_track *t)
{
    free(t->id);
    free(t->unacked);
    memset(t, 0, sizeof(*t));
}

/* The position moves to @x unless it is behind; store writes follow. */
static void advance(struct sfc_stream *s, struct stream_sub *u, int64_t x)
{
    if (u->has_committed && x <= u->committed)
        return;
    u->has_committed = true;
    u->committed = x;
    if (!u->stored_found || x > u->stored) {
        u->dirty = true;
        stream_store_kick_locked(s);
    }
}

void stream_track_received_locked(struct sfc_stream *s,
                                  struct stream_sub *u,
                                  int64_t id)
{
    struct stream_track *t = &u->track;
    size_t at;

    /*
     * The first event of a channel without a stored position: store "from
     * the oldest retained event" (-2) at once, so that a process killed
     * before its first acknowledgement resumes before this event instead of
     * from new events (an id cannot be derived from another one).
     */
    if (!u->has_committed && !u->stored_found)
        advance(s, u, -2);
    if (u->has_committed && id <= u->committed)
        return; /* behind the position: nothing to wait for */
    at = lower_bound(t, id);
    if (at < t->n && t->id[t->head + at] == id) {
        t->unacked[t->head + at]++;
        return;
    }
    make_room(t);
    memmove(t->id + t->head + at + 1, t->id + t->head + at,
            (t->n - at) * sizeof(*t->id));
    memmove(t->unacked + t->head + at + 1, t->unacked + t->head + at,
            (t->n - at) * sizeof(*t->unacked));
    t->id[t->head + at] = id;
    t->unacked[t->head + at] = 1;
    t->n++;
}

void stream_track_ack_locked(struct sfc_stream *s,
                             struct stream_sub *u,
                             int64_t id)
{
    struct stream_track *t = &u->track;
    size_t at = lower_bound(t, id);
    bool moved = false;
    int64_t x = 0;

    if (at == t->n || t->id[t->head + at] != id ||
        t->unacked[t->head + at] == 0)
        return; /* not received, or behind the position */
    t->unacked[t->head + at]--;
    while (t->n && t->unacked[t->head] == 0) {
        x = t->id[t->head];
        t->head++;
        t->n--;
        moved = true;
    }
    if (!t->n)
        t->head = 0;
    if (moved)
        advance(s, u, x);
}

int64_t stream_replay_for_locked(struct sfc_stream *s, struct stream_sub *u)
{
    (void)s;
    if (u->has_committed)
        return u->committed;
    switch (u->start) {
    case SFC_STREAM_START_STORED:
        return u->stored_found ? u->stored : -1;
    case SFC_STREAM_START_ALL:
        return -2;
    case SFC_STREAM_START_NEW:
        break;
    }
    return -1;
}
