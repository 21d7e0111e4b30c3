/* Wine 8 (Debian 12) lacks bcryptprimitives.dll, which Rust's standard library imports for
   ProcessPrng. The tests run under Wine with this stand-in beside them (.ci/wine/run builds it):
   the same contract, through RtlGenRandom. Not part of peach. */
#include <windows.h>
#include <ntsecapi.h>

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
    return RtlGenRandom(data, (ULONG)len);
}
