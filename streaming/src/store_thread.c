/*
 * The store thread: the only caller of the replay store. It reads each
 * subscription's stored position before the subscription goes out (a read
 * that fails is retried with backoff: the stream never guesses "new"), and
 * writes the positions the commit rule moved (a write that fails stays
 * pending and is retried). Failures are logged, counted and make the stream
 * unhealthy; reads failing longer than connection_timeout_ms stop it.
 * At a stop it writes what is pending once more, by the stop's deadline.
 * Store I/O runs without the stream's lock, which the I/O thread needs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stream_int.h"

/* Pause between two rounds of writes while commits flow. */
#define WRITE_ROUND_MS 20

void stream_store_kick_locked(struct sfc_stream *s)
{
    /* A thread that knows of work already does it at its next round: a
     * signal for every acknowledgement would only wake it to wait again
     * (and to take the lock from the thread that acknowledges). A flush
     * asked for does not wait for the round. */
    if (s->store_work && s->flush_asked == s->flush_done)
        return;
    s->store_work = true;
    /* Pausing between writes, it looks for work when the pause ends. */
    if (s->store_napping && s->flush_asked == s->flush_done)
        return;
    pthread_cond_signal(&s->store_cond);
}

static void store_failed_locked(struct sfc_stream *s,
                                const char *what,
                                const char *channel,
                                sfc_err_t rc)
{
    s->stats.store_errors++;
    if (!s->store_failing) {
        s->store_failing = true;
        s->store_failing_ms = sfc_now_ms();
    }
    snprintf(s->store_why, sizeof(s->store_why),
             "replay store %s of %s failed: %s", what, channel,
             sfc_err2str(rc));
    sfc_log(SFC_LOG_ERROR, STREAM_MOD, "%s%s", s->store_why,
            s->store_stop ? "" : "; retrying");
}

static void store_ok_locked(struct sfc_stream *s)
{
    if (s->store_failing)
        sfc_log(SFC_LOG_INFO, STREAM_MOD, "replay store works again");
    s->store_failing = false;
    s->store_why[0] = '\0';
}

/* A position that existed and is gone: the fallback applies, loudly. */
static void position_lost_locked(struct sfc_stream *s, struct stream_sub *u)
{
    s->stats.replay_fallbacks++;
    sfc_log(SFC_LOG_ERROR, STREAM_MOD,
            "the stored position of %s is lost (expired or deleted): events "
            "since it may be missing; falling back to %s",
            u->bare,
            s->o.fallback == SFC_STREAM_FALLBACK_ALL   ? "all retained events"
            : s->o.fallback == SFC_STREAM_FALLBACK_NEW ? "new events only"
                                                       : "failing");
    u->pos_known = true;
    if (s->o.fallback == SFC_STREAM_FALLBACK_FAIL) {
        stream_fail_locked(s, SFC_ERR_REPLAY_INVALID,
                           "the stored position of %s is lost", u->bare);
        return;
    }
    if (u->start == SFC_STREAM_START_STORED)
        u->start = s->o.fallback == SFC_STREAM_FALLBACK_ALL
                       ? SFC_STREAM_START_ALL
                       : SFC_STREAM_START_NEW;
}

/* Reads one unknown position; false when the store failed. Lock held. */
static bool load_one(struct sfc_stream *s, struct stream_sub *u)
{
    char *bare = sfc_xstrdup(u->bare);
    int64_t v = 0;
    bool found = false;
    sfc_err_t rc;

    pthread_mutex_unlock(&s->lock);
    rc = sfc_replay_store_get(s->o.store, bare, &v, &found);
    pthread_mutex_lock(&s->lock);
    u = stream_sub_find_locked(s, bare);
    if (rc == SFC_ERR_REPLAY_INVALID) {
        store_ok_locked(s);
        if (u && !u->pos_known)
            position_lost_locked(s, u);
    } else if (rc != SFC_OK) {
        store_failed_locked(s, "read", bare, rc);
        if (s->o.connection_timeout_ms > 0 &&
            sfc_now_ms() - s->store_failing_ms > s->o.connection_timeout_ms)
            stream_fail_locked(s, SFC_ERR_IO,
                               "the replay store could not be read for "
                               "%lld ms (%s): the stream cannot start without "
                               "its stored positions",
                               (long long)(sfc_now_ms() - s->store_failing_ms),
                               sfc_err2str(rc));
        free(bare);
        return false;
    } else {
        store_ok_locked(s);
        if (u && !u->pos_known) {
            u->pos_known = true;
            u->stored_found = found;
            u->stored = v;
            if (found && u->start == SFC_STREAM_START_STORED &&
                !u->has_committed) {
                u->has_committed = true;
                u->committed = v;
            }
        }
    }
    if (u)
        s->dirty_subs = true;
    free(bare);
    curl_multi_wakeup(s->multi);
    return true;
}

/* Writes one pending position; false when the store failed. Lock held. */
static bool write_one(struct sfc_stream *s, struct stream_sub *u)
{
    char *bare = sfc_xstrdup(u->bare);
    int64_t v = u->committed;
    sfc_err_t rc;

    pthread_mutex_unlock(&s->lock);
    rc = sfc_replay_store_set(s->o.store, bare, v);
    pthread_mutex_lock(&s->lock);
    u = stream_sub_find_locked(s, bare);
    if (rc != SFC_OK) {
        store_failed_locked(s, "write", bare, rc);
        free(bare);
        return false;
    }
    store_ok_locked(s);
    s->stats.commits++;
    if (u) {
        u->stored = v;
        u->stored_found = true;
        if (u->committed == v)
            u->dirty = false;
    }
    free(bare);
    return true;
}

/* Waits on the store condition until @until_ms (monotonic). Lock held. */
static void wait_until(struct sfc_stream *s, int64_t until_ms)
{
    struct timespec ts;
    int64_t ms = until_ms - sfc_now_ms();

    if (ms <= 0)
        return;
    ts = sfc_deadline_ts(ms);
    pthread_cond_timedwait(&s->store_cond, &s->lock, &ts);
}

static struct stream_sub *unknown_position(struct sfc_stream *s)
{
    for (struct stream_sub *u = s->subs; u; u = u->next)
        if (!u->pos_known && !u->removed)
            return u;
    return NULL;
}

static struct stream_sub *pending_write(struct sfc_stream *s)
{
    for (struct stream_sub *u = s->subs; u; u = u->next)
        if (u->dirty && !u->removed)
            return u;
    return NULL;
}

/* Whether a round goes on: not once the stream stops, except the final
 * round, which goes on until the stop's deadline. Lock held. */
static bool go_on(struct sfc_stream *s, bool final)
{
    return final ? sfc_now_ms() < s->stop_by : !s->store_stop;
}

/*
 * One round: every unknown position (not in the final round), the pending
 * writes (each channel once: while commits flow a channel is dirty again
 * at once), a flush when asked. The list is searched afresh after each
 * call: the lock is let go during store I/O and subscriptions may come and
 * go meanwhile.
 */
static bool round_locked(struct sfc_stream *s, bool final, bool *wrote)
{
    uint64_t asked = s->flush_asked;
    sfc_err_t rc = SFC_OK;
    bool ok = true;
    struct stream_sub *u;
    size_t n = 0;

    s->store_work = false;
    while (!final && ok && go_on(s, final) && !s->error &&
           (u = unknown_position(s)))
        ok = load_one(s, u);
    for (u = s->subs; u; u = u->next)
        n++;
    while (ok && n-- > 0 && go_on(s, final) && (u = pending_write(s))) {
        *wrote = true;
        ok = write_one(s, u);
    }
    if (ok && pending_write(s))
        s->store_work = true;
    if (asked > s->flush_done) {
        if (ok && go_on(s, final)) {
            pthread_mutex_unlock(&s->lock);
            rc = sfc_replay_store_flush(s->o.store);
            pthread_mutex_lock(&s->lock);
            if (rc != SFC_OK) {
                store_failed_locked(s, "flush", "every channel", rc);
                ok = false;
            }
        }
        s->flush_rc = ok ? SFC_OK : rc != SFC_OK ? rc : SFC_ERR_IO;
        s->flush_done = asked;
        if (ok)
            s->flushed_commits = s->stats.commits;
        pthread_cond_broadcast(&s->cond);
    }
    return ok;
}

/*
 * At a stop: the positions still pending are written once more and the
 * store is flushed, by the stop's deadline (the store's deadline op bounds
 * its calls). A position that cannot be written is logged: the store
 * keeps the one before it, and the next start delivers the events after
 * that again. Lock held.
 */
static void final_round_locked(struct sfc_stream *s)
{
    bool wrote = false;

    if (go_on(s, true)) {
        pthread_mutex_unlock(&s->lock);
        sfc_replay_store_deadline(s->o.store, s->stop_by);
        pthread_mutex_lock(&s->lock);
        s->flush_asked++;
        round_locked(s, true, &wrote);
        pthread_mutex_unlock(&s->lock);
        sfc_replay_store_deadline(s->o.store, 0);
        pthread_mutex_lock(&s->lock);
    }
    for (struct stream_sub *u = s->subs; u; u = u->next) {
        if (!u->dirty || u->removed)
            continue;
        if (u->stored_found)
            sfc_log(SFC_LOG_WARN, STREAM_MOD,
                    "position %lld of %s not written at stop (%s): the store "
                    "keeps %lld, and the next start delivers the events "
                    "after it again",
                    (long long)u->committed, u->bare,
                    s->store_failing ? s->store_why : "no time left",
                    (long long)u->stored);
        else
            sfc_log(SFC_LOG_WARN, STREAM_MOD,
                    "position %lld of %s not written at stop (%s): the store "
                    "has none, and the next start begins where the "
                    "subscription says",
                    (long long)u->committed, u->bare,
                    s->store_failing ? s->store_why : "no time left");
    }
}

void *stream_store_main(void *arg)
{
    struct sfc_stream *s = arg;
    unsigned failures = 0;
    int64_t next_ms = 0;
    bool unflushed = false;

    pthread_mutex_lock(&s->lock);
    while (!s->store_stop) {
        bool wrote = false;

        if (!s->store_work && s->flush_asked == s->flush_done) {
            /* Quiet for a while after writes: make them durable (the file
             * store holds writes back while commits flow). */
            if (unflushed) {
                s->flush_asked++;
                unflushed = false;
                continue;
            }
            /* The pause after writes is waited out once: commits that
             * come meanwhile need no signal (stream_store_kick_locked). */
            if (sfc_now_ms() < next_ms) {
                s->store_napping = true;
                wait_until(s, next_ms);
                s->store_napping = false;
                continue;
            }
            wait_until(s, sfc_now_ms() + 500);
            if (!s->store_work && s->flush_asked == s->flush_done)
                unflushed = s->stats.commits != s->flushed_commits;
            continue;
        }
        /* Backoff after failures, and a short pause between writes; a
         * flush waits for neither unless the store fails. */
        if (sfc_now_ms() < next_ms &&
            (failures || s->flush_asked == s->flush_done)) {
            wait_until(s, next_ms);
            continue;
        }
        if (round_locked(s, false, &wrote)) {
            failures = 0;
            next_ms = wrote ? sfc_now_ms() + WRITE_ROUND_MS : 0;
        } else {
            s->store_work = true; /* what failed is still to do */
            next_ms =
                sfc_now_ms() + sfc_backoff_ms(failures++, s->o.backoff_base_ms,
                                              s->o.backoff_max_ms);
        }
    }
    final_round_locked(s);
    pthread_mutex_unlock(&s->lock);
    return NULL;
}
