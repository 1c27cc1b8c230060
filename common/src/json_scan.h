/*
 * The inner loop shared by the tree-less JSON readers (json_span.c,
 * json_check.c): skipping plain string contents.
 */
#ifndef SFC_JSON_SCAN_H
#define SFC_JSON_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

/*
 * Index of the first byte from s[i] on that ends a run of plain string
 * contents: a quote, a backslash, a control byte, and with @stop_high a
 * byte of 0x80 or more (the start or middle of a UTF-8 sequence); @n when
 * none does. Sixteen bytes at a time with SSE2 (eight without): string
 * contents are most of a message.
 */
static inline size_t
json_string_stop(const char *s, size_t i, size_t n, bool stop_high)
{
#ifdef __SSE2__
    const __m128i quote = _mm_set1_epi8('"'), slash = _mm_set1_epi8('\\');
    /* Bytes below 0x20 are those whose maximum with 0x1f stays 0x1f. */
    const __m128i low = _mm_set1_epi8(0x1f);

    while (i + 16 <= n) {
        __m128i w = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
        __m128i hit = _mm_or_si128(
            _mm_or_si128(_mm_cmpeq_epi8(w, quote), _mm_cmpeq_epi8(w, slash)),
            _mm_cmpeq_epi8(_mm_max_epu8(w, low), low));
        int mask = _mm_movemask_epi8(hit);

        if (stop_high)
            mask |= _mm_movemask_epi8(w); /* the high bit of each byte */
        if (mask)
            return i + (size_t)__builtin_ctz((unsigned)mask);
        i += 16;
    }
#else
    const uint64_t ones = 0x0101010101010101ULL;
    const uint64_t highs = 0x8080808080808080ULL;

    while (i + 8 <= n) {
        uint64_t w, q, b;

        memcpy(&w, s + i, 8);
        q = w ^ (ones * '"');
        b = w ^ (ones * '\\');
        /* Each term has a high bit set where a byte is 0 (or below 0x20). */
        if ((((q - ones) & ~q) | ((b - ones) & ~b) | ((w - ones * 0x20) & ~w) |
             (stop_high ? w : 0)) &
            highs)
            break;
        i += 8;
    }
#endif
    while (i < n && s[i] != '"' && s[i] != '\\' &&
           (unsigned char)s[i] >= 0x20 &&
           !(stop_high && (unsigned char)s[i] >= 0x80))
        i++;
    return i;
}

#endif
