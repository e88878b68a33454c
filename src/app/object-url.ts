import { useMemo } from 'react';

/** PNG bytes as a data: URL. */
export function pngDataUrl(bytes: Uint8Array): string {
  let binary = '';
  // In slices: String.fromCharCode(...bytes) overflows the call stack on large arrays.
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return `data:image/png;base64,${btoa(binary)}`;
}

/**
 * A URL for PNG bytes to put in <img src>. A data: URL rather than an object URL: it needs no
 * revoking, so it cannot leak or be revoked under a StrictMode re-mount; thumbnails are a few
 * KB and a full image a few hundred.
 */
export function usePngUrl(bytes: Uint8Array | undefined): string | undefined {
  return useMemo(() => (bytes ? pngDataUrl(bytes) : undefined), [bytes]);
}
