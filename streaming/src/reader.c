/*
 * Incremental Bayeux reply reader: finds where each top-level message of
 * the reply array ends (strings and nesting are the only state) and hands
 * every complete message to sfc_bayeux_parse(). Pure, no I/O (fuzzed).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stream_int.h"

enum {
    R_START,   /* before the first byte that is not white space */
    R_ARRAY,   /* inside the top-level array, between messages */
    R_MESSAGE, /* inside a message */
    R_DONE,    /* after the closing bracket (or the single object) */
    R_BROKEN,
};

/* What handing a message over asks for next. */
enum next { GO_ON, STOP, BROKEN };

void sfc_bayeux_reader_init(struct sfc_bayeux_reader *r, size_t max_message)
{
    memset(r, 0, sizeof(*r));
    sfc_buf_init(&r->msg, max_message);
    r->state = R_START;
}

void sfc_bayeux_reader_free(struct sfc_bayeux_reader *r)
{
    sfc_buf_free(&r->msg);
    free(r->channel);
    r->channel = NULL;
    r->channel_size = 0;
}

/* Between messages, as cJSON reads it: every control byte and space. */
static bool is_space(char c)
{
    return (unsigned char)c <= 32;
}

static enum next broken(struct sfc_bayeux_reader *r, const char *why)
{
    r->state = R_BROKEN;
    snprintf(r->error, sizeof(r->error), "%s", why);
    sfc_buf_free(&r->msg);
    return BROKEN;
}

enum text_kind {
    TEXT_DATA,   /* a checked data message, *m filled */
    TEXT_BAD,    /* not JSON */
    TEXT_PARSER, /* anything else: cJSON decides */
};

/* A plain channel name, not /meta/: the value of a data message's. */
static bool data_channel(const char *v, size_t n)
{
    return n >= 3 && v[0] == '"' && v[1] == '/' && !memchr(v, '\\', n) &&
           !(n >= 8 && memcmp(v + 1, "/meta/", 6) == 0);
}

/*
 * Data messages, nearly all of a reply's bytes, are checked without a
 * tree: one pass of sfc_json_valid_object() checks the text and finds the
 * channel and the data object.
 */
static enum text_kind data_message(struct sfc_bayeux_reader *r,
                                   const char *text,
                                   size_t len,
                                   struct sfc_bayeux_msg *m)
{
    struct sfc_json_member mem[2] = {{.key = "channel"}, {.key = "data"}};
    const char *ch;
    size_t chn;

    if (!sfc_json_valid_object(text, len, mem, 2, r->why_malformed,
                               sizeof(r->why_malformed))) {
        /* Not JSON: a data message is dropped, the rest cJSON judges. */
        bool data = sfc_json_member_find(text, len, "channel", &ch, &chn) ==
                        SFC_JSON_FOUND &&
                    data_channel(ch, chn);

        return data ? TEXT_BAD : TEXT_PARSER;
    }
    if (mem[0].found != SFC_JSON_FOUND ||
        !data_channel(mem[0].val, mem[0].len) ||
        mem[1].found != SFC_JSON_FOUND || mem[1].val[0] != '{')
        return TEXT_PARSER;
    ch = mem[0].val;
    chn = mem[0].len;
    if (r->channel_size < chn - 1) {
        r->channel_size = chn - 1;
        r->channel = sfc_xrealloc(r->channel, r->channel_size);
    }
    memcpy(r->channel, ch + 1, chn - 2);
    r->channel[chn - 2] = '\0';
    memset(m, 0, sizeof(*m));
    m->channel = r->channel;
    m->advice_interval = m->advice_timeout = -1;
    m->text = text;
    m->text_len = len;
    m->data_text = mem[1].val;
    m->data_text_len = mem[1].len;
    return TEXT_DATA;
}

/* Parses one message's text and hands it over. */
static enum next emit_text(struct sfc_bayeux_reader *r,
                           const char *text,
                           size_t len,
                           sfc_bayeux_msg_fn fn,
                           void *op)
{
    struct sfc_bayeux_msg m;
    cJSON *root = NULL;
    char err[64] = "not a JSON object";
    int n = -1;
    bool go_on = true;
    enum text_kind kind =
        len && text[0] == '{' ? data_message(r, text, len, &m) : TEXT_PARSER;

    if (kind == TEXT_DATA) {
        r->messages++;
        return fn(op, &m) ? GO_ON : STOP;
    }
    if (kind == TEXT_BAD) {
        r->malformed++;
        return GO_ON;
    }
    if (len && text[0] == '{') {
        root = sfc_json_parse(text, len, 0, err, sizeof(err));
        n = !cJSON_IsObject(root) ? -1 : bayeux_message(root, &m) ? 1 : 0;
        if (n < 0 && root)
            snprintf(err, sizeof(err), "not a JSON object");
    }
    if (n == 1) {
        r->messages++;
        m.text = text;
        m.text_len = len;
        go_on = fn(op, &m);
    } else {
        r->malformed++;
        snprintf(r->why_malformed, sizeof(r->why_malformed), "%s",
                 n == 0 ? "a message without a channel, or without data" : err);
    }
    cJSON_Delete(root);
    return go_on ? GO_ON : STOP;
}

/*
 * The message ends at @data[to): parsed in place when it lies wholly in
 * this chunk, else from the bytes collected across chunks.
 */
static enum next emit(struct sfc_bayeux_reader *r,
                      const char *data,
                      size_t from,
                      size_t to,
                      sfc_bayeux_msg_fn fn,
                      void *op)
{
    enum next n;

    if (r->msg.len == 0) {
        if (r->msg.max && to - from > r->msg.max)
            return broken(r, "a Bayeux message exceeds the size limit");
        return emit_text(r, data + from, to - from, fn, op);
    }
    if (to > from && sfc_buf_append(&r->msg, data + from, to - from) != SFC_OK)
        return broken(r, "a Bayeux message exceeds the size limit");
    n = emit_text(r, r->msg.data, r->msg.len, fn, op);
    sfc_buf_reset(&r->msg);
    return n;
}

size_t sfc_bayeux_reader_feed(struct sfc_bayeux_reader *r,
                              const char *data,
                              size_t len,
                              sfc_bayeux_msg_fn fn,
                              void *opaque)
{
    size_t i = 0, from = 0;
    enum next n;

    while (i < len) {
        char c = data[i];

        switch (r->state) {
        case R_BROKEN:
        case R_DONE: /* trailing bytes are ignored, as cJSON does */
            return len;
        case R_START:
            if (c == '[') {
                r->state = R_ARRAY;
            } else if (c == '{') {
                r->state = R_MESSAGE;
                r->single = true;
                r->depth = 0;
                from = i;
                continue; /* the object itself is the one message */
            } else if (!is_space(c)) {
                broken(r, "Bayeux reply is neither an array nor an object");
                return len;
            }
            i++;
            break;
        case R_ARRAY:
            if (c == ']') {
                r->state = R_DONE;
            } else if (c != ',' && !is_space(c)) {
                r->state = R_MESSAGE;
                r->depth = 0;
                r->in_string = r->escaped = false;
                from = i;
                continue;
            }
            i++;
            break;
        case R_MESSAGE:
            if (r->in_string) {
                if (r->escaped) {
                    r->escaped = false;
                } else if (c == '\\') {
                    r->escaped = true;
                } else if (c == '"') {
                    r->in_string = false;
                } else {
                    /* Most bytes are string contents: jump with memchr. */
                    const char *p = data + i + 1, *end = data + len;
                    const char *q = memchr(p, '"', (size_t)(end - p));
                    const char *b =
                        memchr(p, '\\', (size_t)((q ? q : end) - p));

                    i = (size_t)((b ? b : q ? q : end) - data);
                    continue;
                }
                i++;
                break;
            }
            if (c == '"') {
                r->in_string = true;
            } else if (c == '{' || c == '[') {
                r->depth++;
            } else if ((c == '}' || c == ']') && r->depth > 0) {
                if (--r->depth == 0) {
                    /* A lone object is the whole reply. */
                    r->state = r->single ? R_DONE : R_ARRAY;
                    n = emit(r, data, from, i + 1, fn, opaque);
                    if (n != GO_ON)
                        return n == STOP ? i + 1 : len;
                }
            } else if ((c == ',' || c == ']') && r->depth == 0) {
                /* A bare scalar in the array: not a message. */
                r->state = R_ARRAY;
                if (emit(r, data, from, i, fn, opaque) == BROKEN)
                    return len;
                continue;
            }
            i++;
            break;
        }
    }
    /* A message that goes on in the next chunk. */
    if (r->state == R_MESSAGE && len > from &&
        sfc_buf_append(&r->msg, data + from, len - from) != SFC_OK)
        broken(r, "a Bayeux message exceeds the size limit");
    return len;
}

bool sfc_bayeux_reader_finish(struct sfc_bayeux_reader *r)
{
    if (r->state == R_BROKEN)
        return false;
    if (r->state != R_DONE) {
        snprintf(r->error, sizeof(r->error), "%s",
                 r->state == R_START ? "empty Bayeux reply"
                                     : "Bayeux reply ends before its last "
                                       "message");
        r->state = R_BROKEN;
        return false;
    }
    return true;
}
