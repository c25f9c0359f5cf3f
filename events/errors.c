/* Error messages for exectrace's error codes and for -errno values. */
#include <string.h>

#include "exectrace/exectrace.h"

const char *et_strerror(int err) {
  switch (err) {
    case 0: return "success";
    case ET_E_ACTIVE: return "recording is already on";
    case ET_E_INACTIVE: return "recording is off";
    case ET_E_FORMAT: return "not an exectrace trace";
    case ET_E_VERSION: return "the trace needs a newer exectrace";
    case ET_E_CORRUPT: return "the trace is damaged beyond use";
    case ET_E_FORKED: return "called in a forked child of the recording process";
    case ET_E_LIMIT: return "a size or count is out of its allowed range";
    default: break;
  }
  if (err < 0 && err > ET_E_BASE) return strerror(-err);
  return "unknown error";
}
