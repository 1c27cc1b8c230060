/* sfsim + api client + stream for streaming/ integration tests. */
#ifndef STREAM_FIXTURE_H
#define STREAM_FIXTURE_H

#include "sfc/streaming.h"
#include "testutil.h"

struct sfix {
    struct sfsim_proc sim;
    struct sfc_api_client *api;
    struct sfc_replay_store *store;
    struct sfc_stream *stream;
    /* What arrived, per event: the Contact LastName and the replay id. */
    char names[4096][32];
    int64_t replays[4096];
    int n;
};

/* Starts sfsim (connect held 1.5 s, CDC off) and logs an api client in. */
int sfix_start(struct sfix *f);
void sfix_stop(struct sfix *f);

/*
 * The fixture the cases of one test program share: sfix_setup(), a cmocka
 * group setup, is sfix_start(&sfix_f); sfix_teardown() is sfix_stop(&sfix_f).
 * @state is not used. Thread: the test's main thread.
 */
extern struct sfix sfix_f;
int sfix_setup(void **state);
int sfix_teardown(void **state);

/* Closes @f's stream (if open) and forgets the events that arrived. */
void sfix_forget(struct sfix *f);

/*
 * Between cases: sfix_forget(), a fresh memory replay store, and sfsim's
 * records, faults and counters reset. Returns 0, or -1 if the reset failed.
 */
int sfix_reset(struct sfix *f);

/* Opens a stream with @o's tweaks applied on top of test defaults. */
void sfix_open(struct sfix *f, void (*tweak)(struct sfc_stream_options *));

/* Declares PushTopic "Contacts" (SELECT Id, LastName FROM Contact). */
void sfix_topic(struct sfix *f);

/* Creates @n Contacts named <prefix>-<i>. */
void sfix_create(struct sfix *f, const char *prefix, int from, int n);

/* Receives until @want distinct events arrived (re-deliveries do not
 * count) or @ms passed; returns the distinct count. */
int sfix_collect(struct sfix *f, int want, int64_t ms);

/* Asserts every <prefix>-<i> for i in [from, from+n) arrived, and that
 * replay ids never went down except at duplicates of earlier ones. */
void sfix_assert_all(struct sfix *f, const char *prefix, int from, int n);

/*
 * Starts sfsim's firehose: @count events of @payload_bytes of padding on
 * @channel, as fast as it can (a count of 0 only declares the channel).
 * Fails the test unless sfsim accepts it.
 */
void sfix_firehose(struct sfix *f,
                   const char *channel,
                   int count,
                   int payload_bytes);

/* Waits until sfsim counted @n subscribes and the stream has every
 * subscription answered (sfix_wait_settled). */
void sfix_wait_subscribes(struct sfix *f, int64_t n);
/* Waits until the stream has every subscription answered (confirmed or
 * refused): events produced from then on reach a confirmed one. */
void sfix_wait_settled(struct sfix *f);

/* Waits up to 15 s until the stream made @n handshakes in all; fails the
 * test otherwise. */
void sfix_wait_handshakes(struct sfix *f, uint64_t n);

int64_t sfix_counter(struct sfix *f, const char *name);

#endif
