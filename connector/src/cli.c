/* The command line: dispatches to the subcommands. */
#include <stdio.h>
#include <string.h>

#include "sfc/connector.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: sfconnector [run] -c FILE      run the daemon\n"
            "       sfconnector check-config FILE  validate and print config\n"
            "       sfconnector --help-config      list every config key\n"
            "       sfconnector --version\n");
}

int sfc_connector_main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
        printf("sfconnector %s\n", SFC_VERSION);
        return 0;
    }
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 ||
                      strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return 0;
    }
    usage(stderr);
    return 2;
}
