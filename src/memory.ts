/**
 * Memory settings for a 1 GB Raspberry Pi (measured with `npm run bench -- channels` and `-- scale`).
 *
 * V8 lets the old generation grow by up to 4× its live size before a full GC; with
 * checks allocating steadily that is tens of MB of garbage held as RSS. A 1.5× limit
 * cut median RSS at 10,000 targets from 201 to 161 MB (peak 301 → 178); 1.25× then
 * took another 3–5 MB at 1,000 targets with every chat platform and ~10 MB at
 * 10,000, with CPU per check inside the runs' spread either way. V8 reads the factor
 * at every GC, so setting it here, first thing, is enough, and it holds however
 * Lookout is started.
 */
import { setFlagsFromString } from 'node:v8';

export const HEAP_GROWING_PERCENT = 25;

/**
 * glibc raises its mmap threshold after freeing a large block, after which the ~1 MB
 * buffers of each data-file write come from the heap and RSS keeps every write's
 * peak. Pinning the threshold needs the environment at exec time, so the image, the
 * systemd unit and `npm start` set it.
 */
export const GLIBC_TUNABLES = 'glibc.malloc.mmap_threshold=131072';

/**
 * undici parses HTTP/1 with llhttp compiled to WebAssembly. Once the parser is hot,
 * V8 recompiles its 33 KB state-machine function with TurboFan: ~120 ms and ~30 MB
 * of compiler memory at once, which made the whole start-up peak (147–150 → 120–123 MB
 * at 1,000 targets with every chat platform, 127 → 116–118 MB without). Liftoff's baseline
 * code parses our short responses fast enough that CPU per check did not move
 * beyond the noise. NODE_OPTIONS refuses this flag; V8 reads it when a function
 * would tier up, and undici compiles the parser on its first connection, so setting
 * it at start-up holds.
 */
export const WASM_FLAGS = '--liftoff-only';

export function tuneMemory(): void {
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  setFlagsFromString(WASM_FLAGS);
}
