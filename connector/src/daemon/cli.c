/*
 * The command line: one table of subcommands. Exit codes: 0 success,
 * 1 invalid configuration, 2 usage error; subcommands document their others.
 */
#include <stdio.h>
#include <string.h>

#include "sfc/connector.h"
#include "sfc/rpc.h"
#include "cli.h"
#include "config.h"
#include "nameko_import.h"
#include "sfc_revision.h"

static int cmd_version(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("sfconnector %s (revision %s)\n", SFC_VERSION, SFC_REVISION);
    return 0;
}

static int cmd_help_config(int argc, char **argv)
{
    enum cfg_help_format fmt = CFG_HELP_TEXT;

    if (argc > 1 && strcmp(argv[1], "--markdown") == 0)
        fmt = CFG_HELP_MARKDOWN;
    else if (argc > 1 && strcmp(argv[1], "--man") == 0)
        fmt = CFG_HELP_MAN;
    else if (argc > 1) {
        fprintf(stderr,
                "usage: sfconnector --help-config [--markdown|--man]\n");
        return SFC_EXIT_USAGE;
    }
    sfc_config_help(stdout, fmt);
    return 0;
}

static int cmd_check_config(int argc, char **argv)
{
    char err[8192];
    const char *path = cli_config_path(argc, argv);
    struct sfc_config *cfg;

    if (!path) {
        fprintf(stderr, "usage: sfconnector check-config FILE\n");
        return SFC_EXIT_USAGE;
    }
    cfg = sfc_config_load(path, err, sizeof(err));
    if (!cfg) {
        fprintf(stderr, "%s\n", err);
        fprintf(stderr, "sfconnector: %s is not valid\n", path);
        return SFC_EXIT_CONFIG;
    }
    sfc_config_print(cfg, stdout);
    fprintf(stderr, "sfconnector: %s is valid\n", path);
    sfc_config_destroy(cfg);
    return 0;
}

static int cmd_import_nameko(int argc, char **argv)
{
    char err[1024];
    size_t unmapped_n = 0;

    if (argc < 2 || argv[1][0] == '-') {
        fprintf(stderr, "usage: sfconnector import-nameko-config FILE.yaml "
                        "[SERVICE.py ...]\n");
        return SFC_EXIT_USAGE;
    }
    if (nameko_import(argv[1], (const char *const *)argv + 2,
                      (size_t)(argc - 2), stdout, &unmapped_n, err,
                      sizeof(err)) != SFC_OK) {
        fprintf(stderr, "sfconnector: %s\n", err);
        return SFC_EXIT_CONFIG;
    }
    if (unmapped_n)
        fprintf(stderr,
                "sfconnector: %zu setting(s) not mapped (see the \"# not "
                "mapped:\" lines)\n",
                unmapped_n);
    return SFC_EXIT_OK;
}

static int cmd_help(int argc, char **argv);

/* Rows may be added by other subcommands' files (see cli.h). */
static const struct cli_command commands[] = {
    {"check-config", cmd_check_config, "FILE",
     "validate FILE and print the "
     "effective configuration (secrets as ****)"},
    {"--help-config", cmd_help_config, "[--markdown|--man]",
     "list every configuration key"},
    {"import-nameko-config", cmd_import_nameko, "FILE.yaml [SERVICE.py]",
     "print the config equivalent to a nameko-salesforce service's"},
    {"--version", cmd_version, "", "print the version"},
    {"--help", cmd_help, "", "this text"},
    CLI_EXTRA_COMMANDS};

static int cmd_help(int argc, char **argv)
{
    struct sfc_rpc_method_info m;

    (void)argc;
    (void)argv;
    printf("usage: sfconnector COMMAND [ARGS]\n\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        printf("  %-14s %-18s %s\n", commands[i].name, commands[i].args,
               commands[i].help);
    printf("\nexit codes: 0 success, 1 invalid configuration, 2 usage, "
           "3 Salesforce login failed, 4 runtime failure\n");
    printf("\nRPC methods (rpc.enabled; more in rpc.methods):\n");
    for (size_t i = 0; sfc_rpc_method_info(i, &m); i++)
        printf("    %s\n        %s\n", m.signature, m.summary);
    return 0;
}

int sfc_connector_main(int argc, char **argv)
{
    const char *name = argc > 1 ? argv[1] : "--help";

    if (strcmp(name, "-h") == 0)
        name = "--help";
    /* "sfconnector -c FILE" is "sfconnector run -c FILE". */
    if (strcmp(name, "-c") == 0 || strcmp(name, "--config") == 0) {
        for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
            if (strcmp(commands[i].name, "run") == 0)
                return commands[i].fn(argc, argv);
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(commands[i].name, name) == 0)
            return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "sfconnector: unknown command \"%s\" (try --help)\n", name);
    return SFC_EXIT_USAGE;
}
