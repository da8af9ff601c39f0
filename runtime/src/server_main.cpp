// Placeholder: the server main of door server binaries arrives with the examples work.
#include "doors/runtime/server_main.h"
