// The subcommands of hdx: each parses its options, calls the libraries and prints.
#pragma once
#include <string>
#include <vector>

namespace hdx::cli {

using Args = std::vector<std::string>;  // the arguments after the subcommand name

int cmd_cost(const Args& args, const std::string& command_line);
int cmd_rtl(const Args& args, const std::string& command_line);
int cmd_sim(const Args& args, const std::string& command_line);
int cmd_search(const Args& args, const std::string& command_line);
int cmd_quantize(const Args& args, const std::string& command_line);

}  // namespace hdx::cli
