#include "ErrorMessage.h"

#include <c10/util/Exception.h>

#include <cstdlib>

namespace shmoareg {

std::string
messageWithoutTrace(const std::exception & error)
{
  // SHMOAREG_DEBUG (non-empty) keeps the trace, for whoever reports a bug.
  if (const char * debug = std::getenv("SHMOAREG_DEBUG"); debug != nullptr && *debug != '\0')
    return error.what();
  const auto * torchError = dynamic_cast<const c10::Error *>(&error);
  const std::string text = torchError ? torchError->what_without_backtrace() : error.what();
  // A message that quotes a c10 error's what() (an std::runtime_error that wraps one) ends there.
  return text.substr(0, text.find("\nException raised from"));
}

} // namespace shmoareg
