/*
 * libFuzzer target for the Bayeux parser and event building. Without
 * libFuzzer (-DSFC_FUZZ=OFF) a small main() replays the files named on the
 * command line, so the corpus runs as an ordinary test.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "sfc/streaming.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sfc_bayeux_msg msgs[64];
    cJSON *root = NULL;
    char err[128];
    int n = sfc_bayeux_parse((const char *)data, size, &root, msgs, 64, NULL,
                             err, sizeof(err));

    for (int i = 0; i < n; i++) {
        struct sfc_stream_event *ev = NULL;

        if (!msgs[i].is_meta &&
            sfc_bayeux_event(&msgs[i], &ev, err, sizeof(err)) == SFC_OK)
            sfc_stream_event_destroy(ev);
    }
    cJSON_Delete(root);
    return 0;
}

#ifndef SFC_LIBFUZZER
int main(int argc, char **argv)
{
    int ran = 0;

    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        char *buf;
        long len;

        if (!f) {
            fprintf(stderr, "cannot open %s\n", argv[i]);
            return 1;
        }
        fseek(f, 0, SEEK_END);
        len = ftell(f);
        fseek(f, 0, SEEK_SET);
        buf = malloc((size_t)len + 1);
        if (fread(buf, 1, (size_t)len, f) != (size_t)len) {
            fclose(f);
            free(buf);
            return 1;
        }
        fclose(f);
        LLVMFuzzerTestOneInput((const uint8_t *)buf, (size_t)len);
        free(buf);
        ran++;
    }
    printf("fuzz_bayeux: replayed %d inputs\n", ran);
    return ran > 0 ? 0 : 1;
}
#endif
