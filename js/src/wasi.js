// A WASI preview1 shim with exactly what a Go wasip1 reactor needs. Browsers
// and workerd have no node:wasi, and the core needs no files, arguments or
// environment: a clock, random bytes, and somewhere for a panic's traceback
// to go (nowhere: it is counted, not kept, since we cannot vouch that it holds
// no secret).

const ESUCCESS = 0;
const EBADF = 8;
const ENOSYS = 52;

/** Thrown by proc_exit: the Go runtime gave up, the instance is dead. */
export class ProcExit extends Error {
  constructor(code) {
    super(`tokensmith.wasm exited with code ${code}`);
    this.name = "ProcExit";
    this.code = code;
  }
}

/**
 * @param {() => WebAssembly.Memory} memory the instance's memory, once known
 * @returns {{imports: object, stats: {stderrBytes: number}}}
 */
export function wasiShim(memory) {
  const stats = { stderrBytes: 0 };
  const view = () => new DataView(memory().buffer); // fresh: memory may have grown
  const bytes = () => new Uint8Array(memory().buffer);
  const zero2 = (a, b) => {
    const v = view();
    v.setUint32(a >>> 0, 0, true);
    v.setUint32(b >>> 0, 0, true);
    return ESUCCESS;
  };
  const imports = {
    args_sizes_get: zero2,
    environ_sizes_get: zero2,
    args_get: () => ESUCCESS,
    environ_get: () => ESUCCESS,
    clock_time_get(id, _precision, out) {
      // 0 = realtime, anything else monotonic; nanoseconds as u64.
      const ns = id === 0
        ? BigInt(Date.now()) * 1000000n
        : BigInt(Math.round(performance.now() * 1e6));
      view().setBigUint64(out >>> 0, ns, true);
      return ESUCCESS;
    },
    random_get(ptr, len) {
      ptr >>>= 0;
      len >>>= 0;
      const b = bytes();
      for (let off = 0; off < len; off += 65536) {
        // getRandomValues fills at most 64 KiB per call.
        crypto.getRandomValues(b.subarray(ptr + off, ptr + Math.min(len, off + 65536)));
      }
      return ESUCCESS;
    },
    fd_write(fd, iovs, iovsLen, nwritten) {
      const v = view();
      let n = 0;
      for (let i = 0; i < iovsLen; i++) n += v.getUint32((iovs >>> 0) + i * 8 + 4, true);
      if (fd === 1 || fd === 2) stats.stderrBytes += n;
      v.setUint32(nwritten >>> 0, n, true);
      return fd === 1 || fd === 2 ? ESUCCESS : EBADF;
    },
    poll_oneoff(inPtr, outPtr, nsubs, neventsPtr) {
      // The core never blocks; answer every subscription as having fired
      // (userdata copied, no error) so that a runtime sleep returns at once.
      const v = view();
      for (let i = 0; i < nsubs; i++) {
        const sub = (inPtr >>> 0) + i * 48;
        const ev = (outPtr >>> 0) + i * 32;
        v.setBigUint64(ev, v.getBigUint64(sub, true), true); // userdata
        v.setUint16(ev + 8, 0, true); // error
        v.setUint8(ev + 10, v.getUint8(sub + 8)); // type
      }
      v.setUint32(neventsPtr >>> 0, nsubs, true);
      return ESUCCESS;
    },
    sched_yield: () => ESUCCESS,
    proc_exit(code) {
      throw new ProcExit(code);
    },
    // Not imported by the current module (it links no os), answered anyway
    // so that a build that links os still instantiates.
    fd_close: () => EBADF,
    fd_fdstat_get: () => EBADF,
    fd_fdstat_set_flags: () => EBADF,
    fd_prestat_get: () => EBADF,
    fd_prestat_dir_name: () => EBADF,
    fd_read: () => EBADF,
    fd_seek: () => EBADF,
    path_open: () => ENOSYS,
  };
  return { imports, stats };
}
