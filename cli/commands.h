// The subcommands of hdx: each parses its options, calls the libraries and prints.
#pragma once
#include <boost/program_options.hpp>
#include <string>
#include <vector>

namespace hdx::cli {

using Args = std::vector<std::string>;  // the arguments after the subcommand name

// Parses args; prints usage, options and examples and returns false when --help was given.
bool parse(const Args& args, const boost::program_options::options_description& od,
           boost::program_options::variables_map& vm, const char* usage, const char* examples);

int cmd_cost(const Args& args, const std::string& command_line);
int cmd_rtl(const Args& args, const std::string& command_line);
int cmd_sim(const Args& args, const std::string& command_line);
int cmd_search(const Args& args, const std::string& command_line);
int cmd_quantize(const Args& args, const std::string& command_line);
int cmd_flow(const Args& args, const std::string& command_line);

}  // namespace hdx::cli
