/*
 * Without libFuzzer (-DSFC_FUZZ=OFF), a main() that replays the files named
 * on the command line through LLVMFuzzerTestOneInput, so each corpus runs
 * as an ordinary test. Linked with every fuzz target's replay program
 * (tests/fuzz/<area>/CMakeLists.txt).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
        if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len) {
            fclose(f);
            free(buf);
            return 1;
        }
        fclose(f);
        LLVMFuzzerTestOneInput((const uint8_t *)buf, (size_t)len);
        free(buf);
        ran++;
    }
    printf("%s: replayed %d inputs\n", argv[0], ran);
    return ran > 0 ? 0 : 1;
}
