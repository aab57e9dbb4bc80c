// The command line (CLI11): vodd serve | check-config | print-config | version
// and the subcommands later modules add. Exceptions from CLI11 and config end
// here as a message and an exit code.
#pragma once

namespace vodd::app {

int RunCli(int argc, char** argv);

}  // namespace vodd::app
