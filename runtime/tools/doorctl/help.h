// doorctl's manual pages (help.cpp).
#pragma once

#include <string_view>

namespace doorctl {

// The manual of `command` ("" for the overview), or nullptr for an unknown command.
const char* help_text(std::string_view command);

}  // namespace doorctl
