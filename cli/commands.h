// The subcommands of hdx: each parses its options, calls the libraries and prints.
// cost, rtl, sim (commands.cpp) and regress (regress.cpp) load no LibTorch and are linked into
// hdx; search, quantize
// and flow (train_commands.cpp, flow.cpp) need it and are linked into hdx-train, which hdx
// runs for them.
#pragma once
#include <boost/program_options.hpp>
#include <functional>
#include <string>
#include <vector>

namespace hdx::cli {

using Args = std::vector<std::string>;  // the arguments after the subcommand name

// Parses args; prints usage, options and examples and returns false when --help was given.
bool parse(const Args& args, const boost::program_options::options_description& od,
           boost::program_options::variables_map& vm, const char* usage, const char* examples);

// Runs `run` and turns what it throws into one line on stderr and the exit code
// (docs/cli.md, "Messages and exit codes"); `command` names the subcommand for the hint.
int run_guarded(const std::string& command, const std::function<int()>& run);

// Refuses a non-empty output folder unless forced; creates it.
void prepare_out(const std::string& dir, bool force);

// The data set options shared by quantize and sim, and the folder they name.
void add_data_options(boost::program_options::options_description& od);
std::string data_dir(const boost::program_options::variables_map& vm);

int cmd_cost(const Args& args, const std::string& command_line);
int cmd_rtl(const Args& args, const std::string& command_line);
int cmd_sim(const Args& args, const std::string& command_line);
int cmd_regress(const Args& args, const std::string& command_line);  // regress.cpp
int cmd_search(const Args& args, const std::string& command_line);
int cmd_quantize(const Args& args, const std::string& command_line);
int cmd_flow(const Args& args, const std::string& command_line);

}  // namespace hdx::cli
