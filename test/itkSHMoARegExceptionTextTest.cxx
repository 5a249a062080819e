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
#include "itkSHMoARegExceptionText.h"
#include "itkSHMoARegModel.h"
#include "itkTestingMacros.h"

#include <cstdlib>
#include <stdexcept>

int
itkSHMoARegExceptionTextTest(int, char *[])
{
  ::unsetenv("SHMOAREG_DEBUG");
  // An ITK exception from the module (itkExceptionMacro): "Class: message", one line.
  auto model = itk::SHMoARegModel::New();
  try
  {
    model->LoadFromFile("/nonexistent/model.pt");
    std::cerr << "a missing model file loaded" << std::endl;
    return EXIT_FAILURE;
  }
  catch (const itk::ExceptionObject & error)
  {
    const std::string text = itk::SHMoARegExceptionText::OneLine(error);
    std::cout << "what(): " << error.what() << "\none line: " << text << std::endl;
    ITK_TEST_EXPECT_TRUE(text.rfind("SHMoARegModel: ", 0) == 0);
    ITK_TEST_EXPECT_TRUE(text.find("/nonexistent/model.pt") != std::string::npos);
    ITK_TEST_EXPECT_TRUE(text.find('\n') == std::string::npos);
    ITK_TEST_EXPECT_TRUE(text.find("ITK ERROR") == std::string::npos && text.find("(0x") == std::string::npos);
    ITK_TEST_EXPECT_TRUE(text.find(".cxx:") == std::string::npos);
    // With SHMOAREG_DEBUG: everything, ITK's file and line included.
    ::setenv("SHMOAREG_DEBUG", "1", 1);
    ITK_TEST_EXPECT_EQUAL(itk::SHMoARegExceptionText::OneLine(error), std::string(error.what()));
    ::unsetenv("SHMOAREG_DEBUG");
  }
  // Any other exception: its message, its lines joined.
  ITK_TEST_EXPECT_EQUAL(itk::SHMoARegExceptionText::OneLine(std::runtime_error("first\nsecond")),
                        std::string("first; second"));
  // An ITK exception without an object (no address in it): its description as it is.
  const itk::ExceptionObject plain(__FILE__, __LINE__, "a plain description (0 x 1)", "here");
  ITK_TEST_EXPECT_EQUAL(itk::SHMoARegExceptionText::OneLine(plain), std::string("a plain description (0 x 1)"));
  std::cout << "Test finished." << std::endl;
  return EXIT_SUCCESS;
}
