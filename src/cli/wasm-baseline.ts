// undici parses HTTP with llhttp compiled to WebAssembly. V8 compiles it again with TurboFan in the background once
// it runs hot, and that compile holds some 30-35 MB for about a second: a host worker's peak memory, reached at the
// preflight's first burst of /hello and Gateway API requests (bench:fleet). Liftoff's baseline code parses the
// small answers a worker reads as fast (measured: 1.10 against 1.12 ms a request), so the worker stays on it.
// A V8 flag, not a NODE_OPTIONS one (node refuses it there): it must be set before the first request compiles llhttp.
import { setFlagsFromString } from 'node:v8';

export function wasmBaselineOnly(): void {
  setFlagsFromString('--liftoff-only');
}
