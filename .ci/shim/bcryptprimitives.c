/*
 * bcryptprimitives.dll shim for Wine 8.0 (used only by .ci/wine).
 *
 * Rust >= 1.78 std on Windows imports ProcessPrng from bcryptprimitives.dll
 * (rust-lang/rust #121337); Wine 8.0 has no such DLL, so every Rust
 * executable fails to start there (c0000135). This DLL provides it.
 *
 * Microsoft docs: "ProcessPrng function": BOOL WINAPI ProcessPrng(PBYTE, SIZE_T),
 * always returns TRUE. Exported undecorated through bcryptprimitives.def
 * (i686 std imports the undecorated name).
 */
#include <windows.h>
#include <bcrypt.h>

BOOL WINAPI ProcessPrng(PBYTE pbData, SIZE_T cbData)
{
    while (cbData > 0) {
        /* BCryptGenRandom takes a ULONG length: fill in chunks. */
        ULONG n = cbData > 0x40000000 ? 0x40000000 : (ULONG)cbData;
        if (BCryptGenRandom(NULL, pbData, n, BCRYPT_USE_SYSTEM_PREFERRED_RNG) != 0)
            return FALSE; /* documented never to fail; never loop forever */
        pbData += n;
        cbData -= n;
    }
    return TRUE;
}
