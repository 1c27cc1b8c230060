/*
 * libFuzzer target for the Bayeux parser and event building, and for the
 * tree-less JSON check the reader applies to data messages. Without
 * libFuzzer (-DSFC_FUZZ=OFF) replay_main.c replays the files named on the
 * command line, so the corpus runs as an ordinary test.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sfc/streaming.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* The messages of one reply, as sfc_bayeux_parse() hands them over. */
struct msgs {
    struct sfc_bayeux_msg m[64];
    int n;
};

static bool keep_message(void *opaque, struct sfc_bayeux_msg *m)
{
    struct msgs *c = opaque;

    c->m[c->n++] = *m;
    return c->n < 64;
}

/*
 * A data message checked as text: cJSON accepts the whole message, and the
 * event read from the text is the event read from cJSON's tree.
 */
static void check_text_message(const struct sfc_bayeux_msg *m)
{
    struct sfc_stream_event *a = NULL, *b = NULL;
    struct msgs parsed = {0};
    cJSON *whole = NULL;
    char err[128];
    sfc_err_t ra = sfc_bayeux_event_on_demand(m, &a, err, sizeof(err));
    sfc_err_t rb = SFC_ERR_PARSE;

    if (sfc_bayeux_parse(m->text, m->text_len, &whole, keep_message, &parsed,
                         NULL, err, sizeof(err)) == 1 &&
        parsed.m[0].data) {
        /* With its text, as the stream's reader gives every message: ids
         * beyond a double's 53 bits are read from it, exactly. */
        parsed.m[0].text = m->text;
        parsed.m[0].text_len = m->text_len;
        rb = sfc_bayeux_event(&parsed.m[0], &b, err, sizeof(err));
    }
    if (ra == SFC_OK && a->record_len) {
        /* The record the stream found is the member the lookup finds. */
        const char *v = NULL;
        size_t n = 0;

        if (!sfc_json_member_span(
                a->data_json, a->data_json_len,
                a->kind == SFC_STREAM_KIND_PUSHTOPIC ? "sobject" : "payload",
                &v, &n) ||
            v != a->data_json + a->record_at || n != a->record_len) {
            fprintf(stderr, "record span disagrees with the lookup\n");
            abort();
        }
    }
    if (!whole || ra != rb ||
        (ra == SFC_OK &&
         (a->replay_id != b->replay_id || a->kind != b->kind ||
          !same_str(a->channel, b->channel) ||
          !same_str(a->created_date, b->created_date) ||
          !same_str(a->event_type, b->event_type) ||
          !same_str(a->entity, b->entity) || !sfc_stream_event_data(a)))) {
        fprintf(stderr, "text and tree disagree on a data message\n");
        abort();
    }
    cJSON_Delete(whole);
    sfc_stream_event_destroy(a);
    sfc_stream_event_destroy(b);
}

static bool count_message(void *opaque, struct sfc_bayeux_msg *m)
{
    struct sfc_stream_event *ev = NULL;
    char err[128];

    ++*(int *)opaque;
    if (m->data_text)
        check_text_message(m);
    if (m->data && m->text) {
        /* The text found without a tree is the member cJSON found. */
        const char *v;
        size_t n;

        if (sfc_json_member_span(m->text, m->text_len, "data", &v, &n)) {
            /* Printed, not cJSON_Compare()d: 1e400 is inf, never equal. */
            cJSON *span = cJSON_ParseWithLength(v, n);
            char *a = span ? cJSON_PrintUnformatted(span) : NULL;
            char *b = cJSON_PrintUnformatted(m->data);

            if (!a || !b || strcmp(a, b) != 0) {
                fprintf(stderr, "member span and cJSON disagree\n");
                abort();
            }
            free(a);
            free(b);
            cJSON_Delete(span);
        }
    }
    if (!m->is_meta && sfc_bayeux_event(m, &ev, err, sizeof(err)) == SFC_OK)
        sfc_stream_event_destroy(ev);
    /* Every third message asks the reader to stop: the rest is fed again. */
    return *(int *)opaque % 3 != 0;
}

/*
 * The incremental reader, fed in chunks whose sizes come from the input:
 * never crashes, and on a reply the whole-body parser accepts as an array
 * of objects it hands over exactly as many messages.
 */
static void read_incrementally(const uint8_t *data, size_t size, int whole)
{
    struct sfc_bayeux_reader r;
    size_t at = 0, step = size ? (size_t)data[0] % 17 + 1 : 1;
    int seen = 0;

    sfc_bayeux_reader_init(&r, 1 << 20);
    while (at < size) {
        size_t n = at + step > size ? size - at : step;

        at += sfc_bayeux_reader_feed(&r, (const char *)data + at, n,
                                     count_message, &seen);
        step = step * 5 % 23 + 1;
    }
    if (sfc_bayeux_reader_finish(&r) && whole >= 0 &&
        (uint64_t)seen + r.malformed != (uint64_t)whole) {
        /* Only a disagreement on a well-formed array is a finding. */
        fprintf(stderr, "reader saw %d+%llu messages, parser %d\n", seen,
                (unsigned long long)r.malformed, whole);
        abort();
    }
    sfc_bayeux_reader_free(&r);
}

/*
 * The tree-less check against cJSON: what it accepts cJSON parses, and
 * what cJSON prints from a short ASCII input it accepts (short: never
 * nested past the check's bound) it accepts.
 */
static void check_valid(const uint8_t *data, size_t size)
{
    cJSON *j = cJSON_ParseWithLength((const char *)data, size);
    char err[128], *printed;
    bool ascii = true;

    struct sfc_json_member mem[2] = {{.key = "channel"}, {.key = "data"}};

    if (sfc_json_valid((const char *)data, size, err, sizeof(err)) && !j) {
        fprintf(stderr, "sfc_json_valid accepts what cJSON rejects\n");
        abort();
    }
    /* Members found in the checking pass are those the lookup finds. */
    if (sfc_json_valid_object((const char *)data, size, mem, 2, err,
                              sizeof(err))) {
        for (int k = 0; k < 2; k++) {
            const char *v = NULL;
            size_t n = 0;
            enum sfc_json_lookup l = sfc_json_member_find(
                (const char *)data, size, mem[k].key, &v, &n);

            if (!cJSON_IsObject(j) || l != mem[k].found ||
                (l == SFC_JSON_FOUND && (v != mem[k].val || n != mem[k].len))) {
                fprintf(stderr, "checking pass and lookup disagree\n");
                abort();
            }
        }
    }
    for (size_t i = 0; i < size; i++)
        ascii = ascii && data[i] < 0x80;
    if (j && ascii && size < 1000) {
        printed = cJSON_PrintUnformatted(j);
        if (printed &&
            !sfc_json_valid(printed, strlen(printed), err, sizeof(err))) {
            fprintf(stderr, "sfc_json_valid rejects cJSON's print: %s\n", err);
            abort();
        }
        free(printed);
    }
    cJSON_Delete(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct msgs c = {0};
    cJSON *root = NULL;
    char err[128];
    int n = sfc_bayeux_parse((const char *)data, size, &root, keep_message, &c,
                             NULL, err, sizeof(err));

    check_valid(data, size);
    for (int i = 0; i < c.n; i++) {
        struct sfc_stream_event *ev = NULL;

        if (!c.m[i].is_meta &&
            sfc_bayeux_event(&c.m[i], &ev, err, sizeof(err)) == SFC_OK)
            sfc_stream_event_destroy(ev);
    }
    {
        /* Elements of a well-formed array, for the reader's check. */
        int whole = -1;

        if (n >= 0 && cJSON_IsArray(root) && cJSON_GetArraySize(root) <= 64)
            whole = cJSON_GetArraySize(root);
        cJSON_Delete(root);
        read_incrementally(data, size, whole);
    }
    return 0;
}
