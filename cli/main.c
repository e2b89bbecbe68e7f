/* main.c - rollcall, the command-line tool: dispatch to a subcommand (import, replay,
 * subscribe, keygen). */
#include <stdio.h>
#include <string.h>

#include "import.h"
#include "replay.h"
#include "subscribe.h"
#include "rollcall/config.h"

static void usage(FILE *out)
{
    fputs("Usage: rollcall COMMAND [ARGS]\n"
          "\n"
          "Commands:\n"
          "  import KIND FILE   send a schools, calendar, pupils, contacts or marks file\n"
          "                     (CSV or JSON) to ingest; see rollcall import --help\n"
          "  replay FILE        send a register with clock lines to ingest in replay mode,\n"
          "                     in order; see rollcall replay --help\n"
          "  subscribe --la CODE ...\n"
          "                     print an LA's referrals from reports as JSON lines, resuming\n"
          "                     after a restart; see rollcall subscribe --help\n"
          "  keygen NAME        write a CURVE key pair, NAME.key and NAME.pub, for the LA\n"
          "                     feed or the links between services\n"
          "\n"
          "Options:\n"
          "  -h, --help         show this help\n"
          "  -V, --version      show the version\n",
          out);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return IMPORT_EXIT_USAGE;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "-V") == 0 || strcmp(argv[1], "--version") == 0) {
        config_print_version(stdout, "rollcall");
        return 0;
    }
    if (strcmp(argv[1], "import") == 0)
        return import_main(argc - 1, argv + 1);
    if (strcmp(argv[1], "replay") == 0)
        return replay_main(argc - 1, argv + 1);
    if (strcmp(argv[1], "subscribe") == 0)
        return subscribe_main(argc - 1, argv + 1);
    if (strcmp(argv[1], "keygen") == 0)
        return keygen_main(argc - 1, argv + 1);
    fprintf(stderr, "rollcall: unknown command '%s'\nTry 'rollcall --help'.\n", argv[1]);
    return IMPORT_EXIT_USAGE;
}
