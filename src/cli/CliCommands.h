// The subcommands of shmoareg, one file each (NameCommand.cxx): each declares its options on an
// ArgumentParser, parses argv[2..] and returns the exit status (0 success, 1 a failed
// registration or bad data, 2 a usage error: UsageError, which main prints with a hint).
#ifndef shmoareg_CliCommands_h
#define shmoareg_CliCommands_h

namespace shmoareg::cli {

int
registerCommand(int argc, char * argv[]);
int
trainCommand(int argc, char * argv[]);
int
evaluateCommand(int argc, char * argv[]);
int
scoreCommand(int argc, char * argv[]);
int
exportCommand(int argc, char * argv[]);
int
synthesizeCommand(int argc, char * argv[]);
int
renderCommand(int argc, char * argv[]);
int
plotTrainingCommand(int argc, char * argv[]);
int
infoCommand(int argc, char * argv[]);
int
presetsCommand(int argc, char * argv[]);
int
forwardCommand(int argc, char * argv[]);
int
warpCommand(int argc, char * argv[]);

} // namespace shmoareg::cli

#endif
