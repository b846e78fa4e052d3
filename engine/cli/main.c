/*
 * main.c — the obligo binary: one command, git-style subcommands.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "engine.h"

static void usage(FILE *out)
{
    fputs("usage: obligo <command> [options]\n"
          "\n"
          "commands:\n"
          "  serve        run the daemon: HTTP API, deadline timers\n"
          "  ingest       run NDJSON events (files or -) through the pipeline\n"
          "  obligations  list obligations\n"
          "  alerts       list alerts\n"
          "  register     show a register (e.g. datalekken), or a breach's AP form\n"
          "  rules        list the rules and duties with title, legal source, file:line\n"
          "  rejected     list the refused input (dead letters) with origin and reason\n"
          "  verify       check the journal and the registers' hash chains\n"
          "  plugins      list the loaded plugins and what they register\n"
          "  check        compile and lint a rule directory (file:line: findings)\n"
          "  test         run the rule tests (*_test.lua) beside the rules\n"
          "  token        create, list and revoke API tokens\n"
          "  replay       what-if: judge the journal again with other rules, show what differs\n"
          "  version      print the version\n"
          "\n"
          "Run 'obligo <command> --help' for a command's options.\n",
          out);
}

int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*run)(int, char **);
    } commands[] = {
        {"serve", cli_serve},     {"ingest", cli_ingest},     {"obligations", cli_obligations},
        {"alerts", cli_alerts},   {"register", cli_register}, {"verify", cli_verify},
        {"plugins", cli_plugins}, {"check", cli_check},       {"test", cli_test},
        {"token", cli_token},     {"replay", cli_replay},     {"rejected", cli_rejected},
        {"rules", cli_rules},
    };
    engine_global_init();
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
        printf("obligo %s\n", OBLIGO_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "obligo: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
