/* Arguments every subcommand reads the same way (see cli.h). Apart from
 * the command table, so subcommands can use it without calling back into
 * the file that calls them. */
#include <string.h>

#include "cli.h"

const char *cli_config_path(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) &&
            i + 1 < argc)
            return argv[i + 1];
        if (argv[i][0] != '-')
            return argv[i];
    }
    return NULL;
}
