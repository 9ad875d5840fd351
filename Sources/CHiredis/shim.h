// hiredis (Debian: libhiredis-dev, 0.14.1): only the protocol parts are used — command
// formatting (redisFormatCommandArgv) and the reply reader (redisReader*); SwiftNIO owns sockets.
#ifndef CHIREDIS_SHIM_H
#define CHIREDIS_SHIM_H
#include <hiredis/hiredis.h>
#endif
