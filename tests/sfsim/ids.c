/*
 * ids.c - Salesforce record ids: key prefixes, 15 -> 18 char case-safe
 * checksum, unique id generation.
 */
#include <ctype.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "sim_int.h"

static const char CHECK_ALPHABET[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";
static const char BASE62[] =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

void sim_id_to18(const char *id15, char out[19])
{
    int chunk, i;

    memcpy(out, id15, 15);
    for (chunk = 0; chunk < 3; chunk++) {
        unsigned bits = 0;
        for (i = 0; i < 5; i++) {
            char c = id15[chunk * 5 + i];
            if (c >= 'A' && c <= 'Z')
                bits |= 1u << i;
        }
        out[15 + chunk] = CHECK_ALPHABET[bits];
    }
    out[18] = '\0';
}

bool sim_id_normalize(const char *id, char out[19])
{
    size_t n = strlen(id), i;
    char full[19];

    if (n != 15 && n != 18)
        return false;
    for (i = 0; i < n; i++)
        if (!isalnum((unsigned char)id[i]))
            return false;
    sim_id_to18(id, full);
    /* An 18-char id must carry the right checksum (case-insensitively, as
     * Salesforce accepts). */
    if (n == 18 && strncasecmp(full + 15, id + 15, 3) != 0)
        return false;
    memcpy(out, full, 19);
    return true;
}

void sim_id_new(const char *prefix, char out[19])
{
    static atomic_ullong counter = 1;
    unsigned long long v = atomic_fetch_add(&counter, 1);
    char id15[16];
    int i;

    memcpy(id15, prefix, 3);
    id15[3] = '5';
    id15[4] = 'g';
    for (i = 14; i >= 5; i--) {
        id15[i] = BASE62[v % 62];
        v /= 62;
    }
    id15[15] = '\0';
    sim_id_to18(id15, out);
}
