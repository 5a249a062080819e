/*=========================================================================
 *
 *  Copyright NumFOCUS
 *
 *  Licensed under the Apache License, Version 2.0 (the "License");
 *  you may not use this file except in compliance with the License.
 *  You may obtain a copy of the License at
 *
 *         http://www.apache.org/licenses/LICENSE-2.0.txt
 *
 *  Unless required by applicable law or agreed to in writing, software
 *  distributed under the License is distributed on an "AS IS" BASIS,
 *  WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 *  See the License for the specific language governing permissions and
 *  limitations under the License.
 *
 *=========================================================================*/
#ifndef itkSHMoARegExceptionText_h
#define itkSHMoARegExceptionText_h

#include "itkMacro.h"

#include <cstdlib>
#include <exception>
#include <string>

namespace itk {

/** \class SHMoARegExceptionText
 * \brief What an exception says to a user, on one line: the command line's and the Python
 * wrapping's error text.
 *
 * ITK's what() is "file:line:" and then "ITK ERROR: Class(0x...): what went wrong"; a user needs
 * "Class: what went wrong". With the environment variable SHMOAREG_DEBUG set (non-empty) the
 * whole what() is kept, for a bug report.
 *
 * \ingroup SHMoAReg
 */
class SHMoARegExceptionText
{
public:
  static std::string
  OneLine(const std::exception & error)
  {
    const char * debug = std::getenv("SHMOAREG_DEBUG");
    if (debug != nullptr && *debug != '\0')
    {
      return error.what();
    }
    const auto * itkError = dynamic_cast<const ExceptionObject *>(&error);
    std::string text = itkError ? itkError->GetDescription() : error.what();
    const std::string prefix = "ITK ERROR: ";
    if (text.compare(0, prefix.size(), prefix) == 0)
    {
      text.erase(0, prefix.size());
    }
    // "Class(0x1234): " -> "Class: " (the object's address means nothing to a user).
    const auto open = text.find("(0x");
    const auto close = text.find("): ", open == std::string::npos ? 0 : open);
    if (open != std::string::npos && close != std::string::npos && text.find_first_of(" \n") > open)
    {
      text.erase(open, close + 1 - open);
    }
    for (auto line = text.find('\n'); line != std::string::npos; line = text.find('\n', line))
    {
      text.replace(line, 1, "; ");
    }
    return text;
  }
};

} // namespace itk

#endif
