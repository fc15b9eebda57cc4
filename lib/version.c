#include "dm.h"
const char dm_version[] = DM_VERSION;
const char dm_build[] = DM_BUILD;
const char dm_libexecdir[] = DM_LIBEXECDIR;
