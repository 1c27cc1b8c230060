/* The at-least-once publisher (see publisher.h). */
#include <stdlib.h>
#include <string.h>

#include "publisher.h"

#define MOD "connector"
/* A refused publish is logged the first time, then every this many. */
#define NACK_LOG_EVERY 100
/* An unroutable one likewise (a missing consumer is not an error). */
#define RETURN_LOG_EVERY 1000

struct publisher {
    struct publisher_link link;
    char *exchange;
    char *ae; /* NULL: no alternate exchange */
    int64_t confirm_timeout_ms, backoff_base_ms, backoff_max_ms;
    struct publisher_entry *head, *tail;
    struct publisher_entry *unsent;   /* first entry with something to send */
    struct publisher_entry *ack_from; /* no unconfirmed publication before */
    size_t held;
    bool up;
    /* Publishes sent and not confirmed (copies included), and of those the
     * copies sent to the alternate exchange. */
    size_t unconfirmed, ae_out;
    int64_t await_since; /* first publish awaited, or last confirm since */
    int64_t resend_at;   /* after a nack: nothing is sent before */
    unsigned nack_streak;
    uint64_t nacks_told, returns_told;
    struct publisher_stats stats;
};

struct publisher *publisher_new(const struct publisher_options *o,
                                const struct publisher_link *link)
{
    struct publisher *p = sfc_xcalloc(1, sizeof(*p));

    p->link = *link;
    p->exchange = sfc_xstrdup(o->exchange);
    if (o->alternate_exchange && *o->alternate_exchange)
        p->ae = sfc_xstrdup(o->alternate_exchange);
    p->confirm_timeout_ms = o->confirm_timeout_ms;
    p->backoff_base_ms = o->backoff_base_ms > 0 ? o->backoff_base_ms : 200;
    p->backoff_max_ms = o->backoff_max_ms > p->backoff_base_ms
                            ? o->backoff_max_ms
                            : p->backoff_base_ms;
    return p;
}

void publisher_destroy(struct publisher *p)
{
    if (!p)
        return;
    free(p->exchange);
    free(p->ae);
    free(p);
}

void publisher_submit(struct publisher *p, struct publisher_entry *e)
{
    e->next = NULL;
    if (p->tail)
        p->tail->next = e;
    else
        p->head = e;
    p->tail = e;
    if (!p->unsent)
        p->unsent = e;
    p->held++;
}

/* Publishes @pb of @e to @exchange; its tag goes to *tag. */
static bool send_pub(struct publisher *p,
                     const struct publisher_entry *e,
                     const struct publisher_pub *pb,
                     const char *exchange,
                     bool mandatory,
                     int64_t now,
                     uint64_t *tag)
{
    struct amqp_link_msg m = {.exchange = exchange,
                              .routing_key = pb->routing_key,
                              .body = e->body,
                              .len = e->body_len,
                              .mandatory = mandatory,
                              .message_id = e->message_id,
                              .headers = pb->headers,
                              .n_headers = pb->n_headers};

    if (p->link.publish(p->link.opaque, &m, tag) != SFC_OK) {
        p->up = false;
        return false;
    }
    /* The wait for confirms starts with the first publish awaited. */
    if (p->unconfirmed++ == 0)
        p->await_since = now;
    p->stats.published++;
    return true;
}

void publisher_send(struct publisher *p, int64_t now)
{
    if (!p->up || !p->unsent || now < p->resend_at)
        return;
    if (p->link.batch)
        p->link.batch(p->link.opaque, true);
    for (struct publisher_entry *e = p->unsent; e && p->up; e = e->next) {
        p->unsent = e;
        for (size_t i = 0; i < e->n_pubs && p->up; i++) {
            struct publisher_pub *pb = &e->pubs[i];

            if (!pb->acked && !pb->tag)
                send_pub(p, e, pb, p->exchange, true, now, &pb->tag);
        }
    }
    if (p->link.batch)
        p->link.batch(p->link.opaque, false);
    if (p->up)
        p->unsent = NULL; /* all sent; new entries set it again */
}

/*
 * Everything unsettled from @from on is to be sent again, in order; what
 * was awaited of it is no longer (its confirms are ignored: their tags are
 * forgotten).
 */
static void resend_from(struct publisher *p, struct publisher_entry *from)
{
    bool reset = false;

    for (struct publisher_entry *e = p->head; e; e = e->next) {
        reset = reset || e == from;
        for (size_t i = 0; reset && i < e->n_pubs; i++) {
            struct publisher_pub *pb = &e->pubs[i];

            if (pb->acked)
                continue;
            if (pb->tag && !pb->orig_acked)
                p->unconfirmed--;
            if (pb->ae_tag && !pb->ae_acked) {
                p->unconfirmed--;
                p->ae_out--;
            }
            pb->tag = pb->ae_tag = 0;
            pb->orig_acked = pb->ae_wanted = pb->ae_acked = false;
        }
    }
    if (from) {
        p->unsent = from;
        p->ack_from = NULL;
    }
}

void publisher_link_up(struct publisher *p, int64_t now)
{
    resend_from(p, p->head);
    p->unconfirmed = p->ae_out = 0;
    p->up = true;
    p->resend_at = now; /* a reconnect has had its own backoff */
    p->nack_streak = 0;
}

void publisher_link_lost(struct publisher *p)
{
    resend_from(p, p->head);
    p->unconfirmed = p->ae_out = 0;
    p->up = false;
}

bool publisher_link_is_up(const struct publisher *p)
{
    return p->up;
}

/* A publication is settled once it and its copy (if any) are confirmed. */
static void settle(struct publisher *p, struct publisher_pub *pb)
{
    if (pb->orig_acked && (!pb->ae_wanted || pb->ae_acked)) {
        pb->acked = true;
        p->stats.confirmed++;
    }
}

static bool covers(uint64_t t, uint64_t tag, bool multiple)
{
    return t && (t == tag || (multiple && t < tag));
}

/* Confirms of copies sent to the alternate exchange (rare: a full scan). */
static void ae_confirmed(struct publisher *p, uint64_t tag, bool multiple)
{
    for (struct publisher_entry *e = p->head; e && p->ae_out; e = e->next)
        for (size_t i = 0; i < e->n_pubs; i++) {
            struct publisher_pub *pb = &e->pubs[i];

            if (!pb->ae_acked && covers(pb->ae_tag, tag, multiple)) {
                pb->ae_acked = true;
                p->ae_out--;
                p->unconfirmed--;
                settle(p, pb);
            }
        }
}

/*
 * Publications carry increasing tags along the FIFO (publishes go out in
 * FIFO order, and a nack or a new connection sends everything unconfirmed
 * from that point again), so a confirm settles a run that starts at
 * ack_from: no rescan of what is already confirmed. Copies sent to the
 * alternate exchange break that order and are settled apart.
 */
void publisher_on_confirm(struct publisher *p,
                          uint64_t tag,
                          bool multiple,
                          int64_t now)
{
    bool prefix_done = true; /* every entry walked so far is settled */

    p->await_since = now;
    p->nack_streak = 0;
    if (p->ae_out)
        ae_confirmed(p, tag, multiple);
    for (struct publisher_entry *e = p->ack_from ? p->ack_from : p->head; e;
         e = e->next) {
        for (size_t i = 0; i < e->n_pubs; i++) {
            struct publisher_pub *pb = &e->pubs[i];

            if (pb->acked)
                continue;
            if (pb->orig_acked) {
                prefix_done = false; /* its copy is still awaited */
                continue;
            }
            if (pb->tag == 0 || pb->tag > tag)
                return; /* not sent yet, or past the confirmed tags */
            if (pb->tag == tag || multiple) {
                pb->orig_acked = true;
                p->unconfirmed--;
                settle(p, pb);
                if (!pb->acked)
                    prefix_done = false;
                if (!multiple && !prefix_done)
                    return;
            } else {
                prefix_done = false; /* an earlier tag, still waiting */
            }
        }
        if (prefix_done)
            p->ack_from = e->next;
    }
}

void publisher_on_nack(struct publisher *p,
                       uint64_t tag,
                       bool multiple,
                       int64_t now)
{
    struct publisher_entry *first = NULL;
    size_t refused = 0;
    int64_t wait;

    for (struct publisher_entry *e = p->head; e; e = e->next)
        for (size_t i = 0; i < e->n_pubs; i++) {
            struct publisher_pub *pb = &e->pubs[i];
            bool hit;

            if (pb->acked)
                continue;
            hit = (!pb->orig_acked && covers(pb->tag, tag, multiple)) ||
                  (!pb->ae_acked && covers(pb->ae_tag, tag, multiple));
            if (hit && !first)
                first = e;
            refused += hit;
            if (!multiple && first)
                goto found;
        }
    if (!first)
        return; /* tags already forgotten (sent again since) */
found:
    p->stats.nacked += refused;
    /* The broker did not take it: it and everything after it again, once
     * the backoff has passed (a queue that refuses publishes is not sent
     * the same messages in a tight loop). */
    resend_from(p, first);
    wait =
        sfc_backoff_ms(p->nack_streak++, p->backoff_base_ms, p->backoff_max_ms);
    p->resend_at = now + wait;
    if (p->nacks_told++ % NACK_LOG_EVERY == 0)
        sfc_log(SFC_LOG_WARN, MOD,
                "the broker refused %zu publish%s to %s (nack: a queue at its "
                "x-max-length with reject-publish, or a broker fault); %llu "
                "refused so far; publishing again in %lld ms",
                refused, refused == 1 ? "" : "es", p->exchange,
                (unsigned long long)p->stats.nacked, (long long)wait);
}

/* The publication a returned message was (and its entry in *@of). */
static struct publisher_pub *returned_pub(struct publisher *p,
                                          const char *routing_key,
                                          const char *message_id,
                                          struct publisher_entry **of)
{
    for (struct publisher_entry *e = p->head; e; e = e->next) {
        if (!e->message_id || strcmp(e->message_id, message_id) != 0)
            continue;
        for (size_t i = 0; i < e->n_pubs; i++) {
            struct publisher_pub *pb = &e->pubs[i];

            if (pb->tag && !pb->orig_acked && !pb->ae_wanted &&
                strcmp(pb->routing_key, routing_key) == 0) {
                *of = e;
                return pb;
            }
        }
    }
    return NULL;
}

void publisher_on_return(struct publisher *p,
                         const char *routing_key,
                         const char *message_id,
                         int64_t now)
{
    struct publisher_pub *pb = NULL;
    struct publisher_entry *e = NULL;

    p->stats.returned++;
    /* Its copy goes to the alternate exchange, confirmed like any publish
     * before the entry is done. */
    if (p->ae && p->up && (pb = returned_pub(p, routing_key, message_id, &e))) {
        pb->ae_wanted = true;
        if (send_pub(p, e, pb, p->ae, false, now, &pb->ae_tag))
            p->ae_out++;
    }
    if (p->returns_told++ % RETURN_LOG_EVERY == 0)
        sfc_log(SFC_LOG_WARN, MOD,
                "no queue is bound for %s on %s (%llu unroutable so far%s%s)",
                routing_key, p->exchange, (unsigned long long)p->stats.returned,
                pb ? "; sent to " : "", pb ? p->ae : "");
}

bool publisher_timed_out(struct publisher *p, int64_t now)
{
    if (!p->up || !p->unconfirmed ||
        now - p->await_since < p->confirm_timeout_ms)
        return false;
    p->stats.confirm_timeouts++;
    sfc_log(SFC_LOG_WARN, MOD,
            "no publisher confirm from the broker for %lld ms (%zu events "
            "in flight); reconnecting",
            (long long)(now - p->await_since), p->held);
    return true;
}

int64_t publisher_awaited_since(const struct publisher *p)
{
    return p->up && p->unconfirmed ? p->await_since : 0;
}

/* Whether every publication of @e is settled. */
static bool settled_all(const struct publisher_entry *e)
{
    for (size_t i = 0; i < e->n_pubs; i++)
        if (!e->pubs[i].acked)
            return false;
    return true;
}

struct publisher_entry *publisher_take_done(struct publisher *p)
{
    struct publisher_entry *first = p->head, *last = NULL;

    while (p->head && settled_all(p->head)) {
        struct publisher_entry *e = p->head;

        if (p->ack_from == e)
            p->ack_from = e->next;
        if (p->unsent == e)
            p->unsent = e->next;
        p->head = e->next;
        p->held--;
        last = e;
    }
    if (!last)
        return NULL;
    last->next = NULL;
    if (!p->head)
        p->tail = NULL;
    return first;
}

struct publisher_entry *publisher_take_all(struct publisher *p)
{
    struct publisher_entry *all = p->head;

    p->head = p->tail = p->unsent = p->ack_from = NULL;
    p->held = p->unconfirmed = p->ae_out = 0;
    return all;
}

size_t publisher_held(const struct publisher *p)
{
    return p->held;
}

bool publisher_awaiting(const struct publisher *p)
{
    return p->unconfirmed > 0;
}

void publisher_get_stats(const struct publisher *p, struct publisher_stats *out)
{
    *out = p->stats;
}
