// vodd: parse the command line and run the chosen subcommand.
#include "vodd/app/cli.h"

int main(int argc, char** argv) { return vodd::app::RunCli(argc, argv); }
