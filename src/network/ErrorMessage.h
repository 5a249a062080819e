// What a LibTorch error says, without what it appends for its developers.
#ifndef shmoareg_ErrorMessage_h
#define shmoareg_ErrorMessage_h

#include <exception>
#include <string>

namespace shmoareg {

// An error's message without c10's "Exception raised from ..." and its
// stack frames: every boundary that reports to a user (the ITK layer, the command line) uses
// this, so no LibTorch trace reaches one. With the environment variable SHMOAREG_DEBUG set
// (non-empty), the whole message, trace included.
std::string
messageWithoutTrace(const std::exception & error);

} // namespace shmoareg

#endif
