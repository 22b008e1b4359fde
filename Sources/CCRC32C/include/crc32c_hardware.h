#ifndef TESSERA_CRC32C_HARDWARE_H
#define TESSERA_CRC32C_HARDWARE_H

#include <stddef.h>
#include <stdint.h>

/// 1 when this CPU computes CRC-32C in hardware (SSE 4.2 on x86-64, the CRC
/// extension on 64-bit ARM), else 0.
int tessera_crc32c_hardware_available(void);

/// Continues a CRC-32C over `count` bytes with the CPU's instruction. `crc` is
/// the running register (the caller applies the initial and final inversion).
/// Call only when `tessera_crc32c_hardware_available()` is 1.
uint32_t tessera_crc32c_hardware_update(uint32_t crc, const uint8_t *bytes, size_t count);

#endif
