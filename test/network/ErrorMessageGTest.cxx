#include "ErrorMessage.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdlib>
#include <stdexcept>

using namespace shmoareg;

namespace {
// The error LibTorch throws for a shape mismatch: its what() carries c10's trace.
c10::Error
libTorchError()
{
  try
  {
    (void)torch::matmul(torch::zeros({ 2, 3 }), torch::zeros({ 2, 3 }));
  }
  catch (const c10::Error & error)
  {
    return error;
  }
  throw std::logic_error("matmul of 2x3 by 2x3 did not throw");
}
} // namespace

TEST(ErrorMessage, DropsLibTorchsTraceAndKeepsTheMessage)
{
  ::unsetenv("SHMOAREG_DEBUG");
  const c10::Error error = libTorchError();
  ASSERT_NE(std::string(error.what()).find("Exception raised from"), std::string::npos)
    << "c10's what() no longer carries a trace: this test checks nothing";
  const std::string message = messageWithoutTrace(error);
  EXPECT_NE(message.find("cannot be multiplied"), std::string::npos) << message;
  EXPECT_EQ(message.find("Exception raised from"), std::string::npos) << message;
  // A runtime_error that quotes a c10 error's what() ends where the trace began.
  EXPECT_EQ(messageWithoutTrace(std::runtime_error(std::string("loading failed: ") + error.what()))
              .find("Exception raised from"),
            std::string::npos);
  EXPECT_EQ(messageWithoutTrace(std::runtime_error("plain")), "plain");
}

TEST(ErrorMessage, KeepsTheTraceWithShmoaregDebug)
{
  ::setenv("SHMOAREG_DEBUG", "1", 1);
  const c10::Error error = libTorchError();
  EXPECT_EQ(messageWithoutTrace(error), std::string(error.what()));
  ::setenv("SHMOAREG_DEBUG", "", 1); // empty: as if unset
  EXPECT_EQ(messageWithoutTrace(error).find("Exception raised from"), std::string::npos);
  ::unsetenv("SHMOAREG_DEBUG");
}
