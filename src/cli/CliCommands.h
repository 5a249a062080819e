// Subcommands of shmoareg that live in their own files.
#ifndef shmoareg_CliCommands_h
#define shmoareg_CliCommands_h

namespace shmoareg::cli {

int
warpCommand(int argc, char * argv[]);

} // namespace shmoareg::cli

#endif
