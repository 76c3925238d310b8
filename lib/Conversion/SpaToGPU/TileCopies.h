//===- TileCopies.h - global -> shared tile copies --------------*- C++ -*-===//
//
// The two ways a kernel fills its shared tiles with rows of q, k or v:
// synchronous 16-byte vector copies into a padded tile (the mma.sync
// kernel), and cp.async copies into a 128-byte-swizzled tile (the wgmma
// kernel), with the wait that makes landed tiles visible to wgmma. Rows past
// the sequence become zeros; threads past the tile neither read nor write.
//
//===----------------------------------------------------------------------===//

#ifndef SPA_LIB_CONVERSION_SPATOGPU_TILECOPIES_H
#define SPA_LIB_CONVERSION_SPATOGPU_TILECOPIES_H

#include "KernelContext.h"

namespace mlir::spa::gpu_kernel {

/// Copies rows [rowStart, rowStart + rows) of (batch, `sourceHead`) of
/// `source` into the padded `smem` from row `smemRowBase` with 16-byte
/// vectors; rows at or past `limit` become zeros.
void copyTile(ImplicitLocOpBuilder &b, const KernelContext &k, Value source,
              Value sourceHead, Value rowStart, int64_t rows, Value limit,
              int64_t width, Value smem, Value smemRowBase);

/// cp.async copies of rows [rowStart, rowStart + rows) of (batch,
/// `sourceHead`) into the swizzled `tile` (buffer `stage` of a ring, if
/// given); rows at or past `limit` are zero-filled without reading memory.
void copySwizzled(ImplicitLocOpBuilder &b, const KernelContext &k, Value source,
                  Value sourceHead, Value rowStart, int64_t rows, Value limit,
                  int64_t width, Value tile, Value stage = Value());

/// Waits until at most `pending` copy groups are in flight, then makes the
/// landed tiles visible to wgmma (async proxy) and to every warp.
void waitForCopies(ImplicitLocOpBuilder &b, int32_t pending);

} // namespace mlir::spa::gpu_kernel

#endif // SPA_LIB_CONVERSION_SPATOGPU_TILECOPIES_H
