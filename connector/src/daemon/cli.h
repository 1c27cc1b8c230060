/*
 * cli.h - the subcommand table. A subcommand lives in its own file and adds
 * its row to CLI_EXTRA_COMMANDS below (and its prototype here).
 */
#ifndef SFC_CONNECTOR_CLI_H
#define SFC_CONNECTOR_CLI_H

enum {
    SFC_EXIT_OK = 0,
    SFC_EXIT_CONFIG = 1,
    SFC_EXIT_USAGE = 2,
    SFC_EXIT_AUTH = 3,
    SFC_EXIT_RUNTIME = 4,
};

struct cli_command {
    const char *name;
    int (*fn)(int argc, char **argv); /* argv[0] is the command name */
    const char *args;
    const char *help;
};

/* The config file named by "-c FILE", "--config FILE" or the first operand. */
const char *cli_config_path(int argc, char **argv);

/* Subcommands implemented in other files. */
int connector_cmd_doctor(int argc, char **argv);
int connector_cmd_run(int argc, char **argv);

#define CLI_EXTRA_COMMANDS                                                     \
    {"run", connector_cmd_run, "-c FILE", "run the daemon"},                   \
        {"doctor", connector_cmd_doctor, "-c FILE",                            \
         "check the config, the Salesforce login and the broker"},

#endif
