// The SQLite C API for `tessera-bench storage` (the only user of this module).
#include <sqlite3.h>
