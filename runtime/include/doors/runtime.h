// The typed runtime of Doors for Linux (README.md in runtime/): everything generated code and
// applications use.
#pragma once

#include "doors/runtime/capability.h"
#include "doors/runtime/client.h"
#include "doors/runtime/door_handle.h"
#include "doors/runtime/dynamic.h"
#include "doors/runtime/error.h"
#include "doors/runtime/interface.h"
#include "doors/runtime/introspection.h"
#include "doors/runtime/log.h"
#include "doors/runtime/metrics.h"
#include "doors/runtime/owned_fd.h"
#include "doors/runtime/schema_text.h"
#include "doors/runtime/server.h"
#include "doors/runtime/server_main.h"
#include "doors/runtime/wire.h"
