/*
 * cli.h — the obligo subcommands (DESIGN §4). main.c dispatches to these;
 * each returns the process exit code: 0 ok, 1 findings, 2 usage or input
 * errors.
 */
#ifndef OBLIGO_CLI_H
#define OBLIGO_CLI_H

int cli_ingest(int argc, char **argv);
int cli_obligations(int argc, char **argv);
int cli_alerts(int argc, char **argv);
int cli_rejected(int argc, char **argv);
int cli_register(int argc, char **argv);
int cli_verify(int argc, char **argv);
int cli_serve(int argc, char **argv);
int cli_plugins(int argc, char **argv);
int cli_check(int argc, char **argv);
int cli_test(int argc, char **argv);
int cli_token(int argc, char **argv);
int cli_replay(int argc, char **argv);
int cli_rules(int argc, char **argv);

#endif
