/**
 * Memory settings for a 1 GB Raspberry Pi (measured with `npm run bench -- channels` and `-- scale`).
 *
 * V8 lets the old generation grow by up to 4× its live size before a full GC; with
 * checks allocating steadily that is tens of MB of garbage held as RSS. A 1.5× limit
 * cut median RSS at 10,000 targets from 201 to 161 MB (peak 301 → 178), for more
 * frequent full GCs. V8 reads the factor at every GC, so setting it here, first
 * thing, is enough, and it holds however Lookout is started.
 */
import { setFlagsFromString } from 'node:v8';

export const HEAP_GROWING_PERCENT = 50;

/**
 * glibc raises its mmap threshold after freeing a large block, after which the ~1 MB
 * buffers of each data-file write come from the heap and RSS keeps every write's
 * peak. Pinning the threshold needs the environment at exec time, so the image, the
 * systemd unit and `npm start` set it.
 */
export const GLIBC_TUNABLES = 'glibc.malloc.mmap_threshold=131072';

export function tuneMemory(): void {
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}
