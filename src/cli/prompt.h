// Reading secrets (passwords) for CLI commands.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace portcullis::cli {

bool stdin_is_terminal();

// One line from stdin, without its line ending. On a terminal, `prompt` is
// written to stderr first and echo is off while typing. nullopt at the end
// of input with nothing read.
std::optional<std::string> read_secret_line(std::string_view prompt);

}  // namespace portcullis::cli
