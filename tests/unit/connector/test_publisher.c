/*
 * The at-least-once publisher against a fake link that records every
 * publish and hands out delivery tags as a broker in confirm mode does:
 * confirms out of order and in ranges, nacks, returns with and without an
 * alternate exchange, a link lost with entries in flight, and the confirm
 * timeout counted from the first publication awaited.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "publisher.h"

#define MAX_SENT 256
#define MAX_PUBS 4

/* What went out on the fake link. */
struct sent {
    char exchange[64], routing_key[64], message_id[64];
    bool mandatory;
    uint64_t tag;
};

struct fake_link {
    uint64_t next_tag;
    bool broken; /* publishes fail (the connection is gone) */
    struct sent sent[MAX_SENT];
    size_t n_sent;
    int batches; /* batch(on) calls not yet matched by batch(off) */
};

static sfc_err_t
fake_publish(void *opaque, const struct amqp_link_msg *m, uint64_t *tag)
{
    struct fake_link *l = opaque;
    struct sent *s;

    if (l->broken)
        return SFC_ERR_AMQP;
    assert_true(l->n_sent < MAX_SENT);
    s = &l->sent[l->n_sent++];
    snprintf(s->exchange, sizeof(s->exchange), "%s", m->exchange);
    snprintf(s->routing_key, sizeof(s->routing_key), "%s", m->routing_key);
    snprintf(s->message_id, sizeof(s->message_id), "%s", m->message_id);
    s->mandatory = m->mandatory;
    *tag = s->tag = l->next_tag++;
    return SFC_OK;
}

static void fake_batch(void *opaque, bool on)
{
    struct fake_link *l = opaque;

    l->batches += on ? 1 : -1;
}

/* An entry of the test's own: an id and one publication per key. */
struct item {
    struct publisher_entry e;
    struct publisher_pub pubs[MAX_PUBS];
    char message_id[32];
    int id;
};

struct fixture {
    struct fake_link link;
    struct publisher *p;
    struct item items[64];
    int64_t now;
};

/* A large monotonic clock: minutes after boot, as on any real machine. */
#define T0 5000000

static struct fixture *setup_with(const char *ae, int64_t timeout_ms)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct publisher_options o = {.exchange = "svc.events",
                                  .alternate_exchange = ae,
                                  .confirm_timeout_ms = timeout_ms,
                                  .backoff_base_ms = 200,
                                  .backoff_max_ms = 2000};
    struct publisher_link link = {
        .opaque = &f->link, .publish = fake_publish, .batch = fake_batch};

    f->link.next_tag = 1;
    f->now = T0;
    f->p = publisher_new(&o, &link);
    publisher_link_up(f->p, f->now);
    return f;
}

static int setup(void **state)
{
    *state = setup_with(NULL, 30000);
    return 0;
}

static int setup_ae(void **state)
{
    *state = setup_with("svc.unrouted", 30000);
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    publisher_take_all(f->p);
    publisher_destroy(f->p);
    free(f);
    return 0;
}

/* Submits item @id with @n publications (keys "k0", "k1", ...). */
static void submit(struct fixture *f, int id, size_t n)
{
    static const char *const keys[MAX_PUBS] = {"k0", "k1", "k2", "k3"};
    struct item *it = &f->items[id];

    memset(it, 0, sizeof(*it));
    it->id = id;
    snprintf(it->message_id, sizeof(it->message_id), "/topic/T:%d", id);
    it->e.item = it;
    it->e.message_id = it->message_id;
    it->e.body = "{}";
    it->e.body_len = 2;
    it->e.pubs = it->pubs;
    it->e.n_pubs = n;
    for (size_t i = 0; i < n; i++)
        it->pubs[i].routing_key = keys[i];
    publisher_submit(f->p, &it->e);
}

/* Takes the done prefix; returns how many, their ids into @ids. */
static size_t take_done(struct fixture *f, int *ids)
{
    size_t n = 0;

    for (struct publisher_entry *e = publisher_take_done(f->p); e; e = e->next)
        ids[n++] = ((struct item *)e->item)->id;
    return n;
}

static struct publisher_stats stats(struct fixture *f)
{
    struct publisher_stats s;

    publisher_get_stats(f->p, &s);
    return s;
}

static void sends_in_order_in_one_batch(void **state)
{
    struct fixture *f = *state;

    submit(f, 0, 1);
    submit(f, 1, 2);
    publisher_send(f->p, f->now);
    assert_int_equal(f->link.n_sent, 3);
    assert_int_equal(f->link.batches, 0);
    assert_string_equal(f->link.sent[0].message_id, "/topic/T:0");
    assert_string_equal(f->link.sent[1].routing_key, "k0");
    assert_string_equal(f->link.sent[2].routing_key, "k1");
    assert_string_equal(f->link.sent[2].exchange, "svc.events");
    assert_true(f->link.sent[2].mandatory);
    /* Nothing is sent twice. */
    publisher_send(f->p, f->now);
    assert_int_equal(f->link.n_sent, 3);
    assert_true(publisher_awaiting(f->p));
    assert_int_equal(stats(f).published, 3);
}

static void confirms_out_of_order(void **state)
{
    struct fixture *f = *state;
    int ids[8];

    for (int i = 0; i < 3; i++)
        submit(f, i, 1);
    publisher_send(f->p, f->now);
    publisher_on_confirm(f->p, 3, false, f->now);
    publisher_on_confirm(f->p, 2, false, f->now);
    /* The first is not confirmed: nothing may be committed yet. */
    assert_null(publisher_take_done(f->p));
    assert_int_equal(stats(f).confirmed, 2);
    publisher_on_confirm(f->p, 1, false, f->now);
    assert_int_equal(take_done(f, ids), 3);
    assert_int_equal(ids[0], 0);
    assert_int_equal(ids[1], 1);
    assert_int_equal(ids[2], 2);
    assert_int_equal(publisher_held(f->p), 0);
    assert_false(publisher_awaiting(f->p));
}

static void multiple_ack_settles_a_range(void **state)
{
    struct fixture *f = *state;
    int ids[8];

    submit(f, 0, 2);
    submit(f, 1, 1);
    submit(f, 2, 1);
    publisher_send(f->p, f->now); /* tags 1,2 | 3 | 4 */
    publisher_on_confirm(f->p, 3, true, f->now);
    assert_int_equal(take_done(f, ids), 2);
    assert_int_equal(ids[1], 1);
    assert_int_equal(publisher_held(f->p), 1);
    publisher_on_confirm(f->p, 4, true, f->now);
    assert_int_equal(take_done(f, ids), 1);
    assert_int_equal(ids[0], 2);
    assert_int_equal(stats(f).confirmed, 4);
}

static void entry_waits_for_every_publication(void **state)
{
    struct fixture *f = *state;

    submit(f, 0, 3);
    publisher_send(f->p, f->now);
    publisher_on_confirm(f->p, 1, false, f->now);
    publisher_on_confirm(f->p, 3, false, f->now);
    assert_null(publisher_take_done(f->p));
    publisher_on_confirm(f->p, 2, false, f->now);
    assert_non_null(publisher_take_done(f->p));
}

static void nack_resends_after_backoff(void **state)
{
    struct fixture *f = *state;
    int ids[8];

    for (int i = 0; i < 3; i++)
        submit(f, i, 1);
    publisher_send(f->p, f->now); /* tags 1, 2, 3 */
    publisher_on_confirm(f->p, 1, false, f->now);
    publisher_on_nack(f->p, 2, false, f->now);
    assert_int_equal(stats(f).nacked, 1);
    /* The confirm of a tag given up is ignored: it goes out again. */
    publisher_on_confirm(f->p, 3, false, f->now);
    assert_int_equal(take_done(f, ids), 1);
    assert_int_equal(ids[0], 0);
    /* No resend before the backoff (at least the base's half)... */
    publisher_send(f->p, f->now);
    publisher_send(f->p, f->now + 99);
    assert_int_equal(f->link.n_sent, 3);
    /* ...then the nacked one and all after it, in order. */
    publisher_send(f->p, f->now + 2000);
    assert_int_equal(f->link.n_sent, 5);
    assert_string_equal(f->link.sent[3].message_id, "/topic/T:1");
    assert_string_equal(f->link.sent[4].message_id, "/topic/T:2");
    publisher_on_confirm(f->p, 5, true, f->now + 2000);
    assert_int_equal(take_done(f, ids), 2);
    assert_int_equal(ids[0], 1);
    assert_int_equal(ids[1], 2);
}

static void nacks_in_a_row_back_off_longer(void **state)
{
    struct fixture *f = *state;
    int64_t t = f->now;
    size_t sends = 0;

    submit(f, 0, 1);
    /* A queue that refuses everything for 10 s, checked every 10 ms. */
    for (int64_t end = t + 10000; t < end; t += 10) {
        size_t before = f->link.n_sent;

        publisher_send(f->p, t);
        if (f->link.n_sent > before) {
            sends++;
            publisher_on_nack(f->p, f->link.sent[before].tag, false, t);
        }
    }
    /* 200, 400, 800, 1600, 2000, 2000 ms ... (full jitter: each wait is
     * between half the base and its bound) instead of 1,000 tries. */
    assert_in_range(sends, 5, 60);
    assert_int_equal(stats(f).nacked, sends);
    /* A confirm ends the streak. */
    publisher_send(f->p, t + 2000);
    publisher_on_confirm(f->p, f->link.sent[f->link.n_sent - 1].tag, false,
                         t + 2000);
    assert_non_null(publisher_take_done(f->p));
}

static void multiple_nack_counts_each(void **state)
{
    struct fixture *f = *state;

    for (int i = 0; i < 4; i++)
        submit(f, i, 1);
    publisher_send(f->p, f->now);
    publisher_on_nack(f->p, 3, true, f->now); /* tags 1..3 */
    assert_int_equal(stats(f).nacked, 3);
    publisher_on_nack(f->p, 4, false, f->now); /* already given up */
    assert_int_equal(stats(f).nacked, 3);
    publisher_send(f->p, f->now + 5000);
    assert_int_equal(f->link.n_sent, 8);
    assert_string_equal(f->link.sent[4].message_id, "/topic/T:0");
}

static void return_without_alternate_is_counted(void **state)
{
    struct fixture *f = *state;

    submit(f, 0, 1);
    publisher_send(f->p, f->now);
    publisher_on_return(f->p, "k0", "/topic/T:0", f->now);
    publisher_on_confirm(f->p, 1, false, f->now);
    assert_int_equal(stats(f).returned, 1);
    assert_non_null(publisher_take_done(f->p));
    assert_int_equal(f->link.n_sent, 1);
}

static void return_goes_to_alternate_exchange(void **state)
{
    struct fixture *f = *state;
    int ids[8];

    submit(f, 0, 2);
    submit(f, 1, 1);
    publisher_send(f->p, f->now); /* tags 1, 2 | 3 */
    publisher_on_return(f->p, "k1", "/topic/T:0", f->now);
    assert_int_equal(f->link.n_sent, 4);
    assert_string_equal(f->link.sent[3].exchange, "svc.unrouted");
    assert_string_equal(f->link.sent[3].routing_key, "k1");
    assert_false(f->link.sent[3].mandatory);
    publisher_on_confirm(f->p, 3, true, f->now);
    /* The copy (tag 4) is not confirmed yet: entry 0 waits, and so does
     * entry 1 behind it. */
    assert_null(publisher_take_done(f->p));
    publisher_on_confirm(f->p, 4, false, f->now);
    assert_int_equal(take_done(f, ids), 2);
    assert_int_equal(ids[0], 0);
    assert_int_equal(stats(f).confirmed, 3);
}

static void nacked_copy_resends_the_entry(void **state)
{
    struct fixture *f = *state;

    submit(f, 0, 1);
    publisher_send(f->p, f->now);
    publisher_on_return(f->p, "k0", "/topic/T:0", f->now);
    publisher_on_confirm(f->p, 1, false, f->now);
    publisher_on_nack(f->p, 2, false, f->now);
    assert_null(publisher_take_done(f->p));
    publisher_send(f->p, f->now + 5000);
    assert_int_equal(f->link.n_sent, 3);
    assert_string_equal(f->link.sent[2].exchange, "svc.events");
}

static void link_lost_resends_unconfirmed(void **state)
{
    struct fixture *f = *state;
    int ids[8];

    for (int i = 0; i < 4; i++)
        submit(f, i, 1);
    publisher_send(f->p, f->now);
    publisher_on_confirm(f->p, 2, true, f->now); /* 0 and 1 done */
    publisher_link_lost(f->p);
    assert_false(publisher_awaiting(f->p));
    /* Confirms from the old connection's tags never come; late ones (a
     * new connection counts from 1 again) must not settle anything. */
    submit(f, 4, 1);
    publisher_send(f->p, f->now);
    assert_int_equal(f->link.n_sent, 4);
    assert_int_equal(take_done(f, ids), 2);
    f->link.next_tag = 1; /* a new channel counts from 1 */
    publisher_link_up(f->p, f->now + 1000);
    publisher_send(f->p, f->now + 1000);
    assert_int_equal(f->link.n_sent, 7);
    assert_string_equal(f->link.sent[4].message_id, "/topic/T:2");
    assert_string_equal(f->link.sent[6].message_id, "/topic/T:4");
    publisher_on_confirm(f->p, 3, true, f->now + 1000);
    assert_int_equal(take_done(f, ids), 3);
    assert_int_equal(ids[0], 2);
    assert_int_equal(ids[2], 4);
}

static void publish_failure_waits_for_link(void **state)
{
    struct fixture *f = *state;

    submit(f, 0, 1);
    submit(f, 1, 1);
    f->link.broken = true;
    publisher_send(f->p, f->now);
    assert_false(publisher_link_is_up(f->p));
    assert_int_equal(f->link.batches, 0);
    f->link.broken = false;
    publisher_send(f->p, f->now);
    assert_int_equal(f->link.n_sent, 0);
    publisher_link_up(f->p, f->now);
    publisher_send(f->p, f->now);
    assert_int_equal(f->link.n_sent, 2);
}

static void timeout_counts_from_first_publish(void **state)
{
    struct fixture *f = *state;

    /* Long after the publisher was made, nothing awaited: no timeout. */
    assert_false(publisher_timed_out(f->p, f->now + 100000));
    f->now += 100000;
    submit(f, 0, 1);
    publisher_send(f->p, f->now);
    /* The wait starts at this first publish, not at the clock's zero or
     * at the link's opening. */
    assert_false(publisher_timed_out(f->p, f->now + 1));
    assert_false(publisher_timed_out(f->p, f->now + 29999));
    assert_true(publisher_timed_out(f->p, f->now + 30000));
    assert_int_equal(stats(f).confirm_timeouts, 1);
}

static void confirm_restarts_the_wait(void **state)
{
    struct fixture *f = *state;

    submit(f, 0, 1);
    submit(f, 1, 1);
    publisher_send(f->p, f->now);
    publisher_on_confirm(f->p, 1, false, f->now + 20000);
    assert_false(publisher_timed_out(f->p, f->now + 40000));
    assert_true(publisher_timed_out(f->p, f->now + 50000));
}

static void idle_then_publish_is_not_a_timeout(void **state)
{
    struct fixture *f = *state;

    submit(f, 0, 1);
    publisher_send(f->p, f->now);
    publisher_on_confirm(f->p, 1, false, f->now + 10);
    assert_non_null(publisher_take_done(f->p));
    /* An hour of quiet, then an event. */
    f->now += 3600 * 1000;
    submit(f, 1, 1);
    publisher_send(f->p, f->now);
    assert_false(publisher_timed_out(f->p, f->now + 100));
}

static void awaited_since_follows_the_wait(void **state)
{
    struct fixture *f = *state;

    /* The dispatch thread reads confirms late only while this is set. */
    assert_int_equal(publisher_awaited_since(f->p), 0);
    submit(f, 0, 1);
    submit(f, 1, 1);
    publisher_send(f->p, f->now + 5);
    assert_int_equal(publisher_awaited_since(f->p), f->now + 5);
    publisher_on_confirm(f->p, 1, false, f->now + 7);
    assert_int_equal(publisher_awaited_since(f->p), f->now + 7);
    publisher_on_confirm(f->p, 2, false, f->now + 9);
    assert_int_equal(publisher_awaited_since(f->p), 0);
    submit(f, 2, 1);
    publisher_send(f->p, f->now + 11);
    assert_int_equal(publisher_awaited_since(f->p), f->now + 11);
    publisher_link_lost(f->p);
    assert_int_equal(publisher_awaited_since(f->p), 0);
}

static void lost_link_has_no_timeout(void **state)
{
    struct fixture *f = *state;

    submit(f, 0, 1);
    publisher_send(f->p, f->now);
    publisher_link_lost(f->p);
    assert_false(publisher_timed_out(f->p, f->now + 60000));
    /* A new link with the entry sent again: the wait starts then. */
    publisher_link_up(f->p, f->now + 60000);
    publisher_send(f->p, f->now + 60000);
    assert_false(publisher_timed_out(f->p, f->now + 60001));
}

static void take_all_gives_back_everything(void **state)
{
    struct fixture *f = *state;
    size_t n = 0;

    for (int i = 0; i < 3; i++)
        submit(f, i, 1);
    publisher_send(f->p, f->now);
    for (struct publisher_entry *e = publisher_take_all(f->p); e; e = e->next)
        n++;
    assert_int_equal(n, 3);
    assert_int_equal(publisher_held(f->p), 0);
    assert_false(publisher_awaiting(f->p));
}

#define T(fn)    cmocka_unit_test_setup_teardown(fn, setup, teardown)
#define T_AE(fn) cmocka_unit_test_setup_teardown(fn, setup_ae, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(sends_in_order_in_one_batch),
        T(confirms_out_of_order),
        T(multiple_ack_settles_a_range),
        T(entry_waits_for_every_publication),
        T(nack_resends_after_backoff),
        T(nacks_in_a_row_back_off_longer),
        T(multiple_nack_counts_each),
        T(return_without_alternate_is_counted),
        T_AE(return_goes_to_alternate_exchange),
        T_AE(nacked_copy_resends_the_entry),
        T(link_lost_resends_unconfirmed),
        T(publish_failure_waits_for_link),
        T(timeout_counts_from_first_publish),
        T(confirm_restarts_the_wait),
        T(idle_then_publish_is_not_a_timeout),
        T(awaited_since_follows_the_wait),
        T(lost_link_has_no_timeout),
        T(take_all_gives_back_everything),
    };

    sfc_log_configure(SFC_LOG_ERROR, SFC_LOG_TEXT, NULL);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
