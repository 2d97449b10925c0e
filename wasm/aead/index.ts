// Placeholder: replaced by the ChaCha20-Poly1305 kernel.
export function version(): i32 {
  if (ASC_FEATURE_SIMD) {
    return i32x4.extract_lane(i32x4.splat(2), 0);
  }
  return 1;
}
