// doorctl's subcommands. Each parses the rest of its command line, prints its output on stdout
// and returns the exit status; failures are thrown as Failure or UsageError (common.h).
#pragma once

#include "common.h"

namespace doorctl {

int run_ls(Args& args, GlobalOptions& global);
int run_info(Args& args, GlobalOptions& global);
int run_schema(Args& args, GlobalOptions& global);
int run_call(Args& args, GlobalOptions& global);
int run_stats(Args& args, GlobalOptions& global);
int run_bench(Args& args, GlobalOptions& global);

// Consumes a global option (--json, --timeout) when it is next: true when it did.
bool global_option(Args& args, GlobalOptions& global);
// The next operand; throws UsageError naming `what` when there is none or it looks like an
// unknown option.
std::string operand(Args& args, const char* what);
// The arguments of a command that takes global options and one PATH: that PATH.
std::string lone_path(Args& args, GlobalOptions& global);

}  // namespace doorctl
