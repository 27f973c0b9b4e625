// Loads pki-wasm (pki-core compiled to WebAssembly, no wasm-bindgen) and wraps its
// pointer/length exports. The module is fetched with a checked hash: `cargo xtask web` writes it
// below, and index.html carries this file's own SRI hash.
const WASM_INTEGRITY = "sha384-yi6IYgp3Y0y3vKUNb2f8eeiHjGFb4Y6XytYo/uHcQp/ZNviS+xSXBRDQ4AarsJ9R";

const ERRORS = { 1: "bad input", 2: "not seeded", 3: "refused", 4: "signature or key mismatch", 5: "out of order" };

/** A failed step: `code` is pki-wasm's code, `message` its explanation. */
export class PkiError extends Error {
  constructor(code, message) {
    super(`${ERRORS[code] ?? "error " + code}: ${message}`);
    this.code = code;
  }
}

let instance = null;

/** Fetches (integrity-checked), instantiates and seeds the module once. */
export async function load() {
  if (instance) return instance;
  performance.mark("wasm-fetch-start");
  const resp = await fetch("pki.wasm", { integrity: WASM_INTEGRITY, credentials: "omit" });
  if (!resp.ok) throw new Error(`pki.wasm: HTTP ${resp.status}`);
  const bytes = await resp.arrayBuffer();
  performance.mark("wasm-instantiate-start");
  const { instance: inst } = await WebAssembly.instantiate(bytes, {});
  performance.measure("wasm-instantiate", "wasm-instantiate-start");
  instance = inst.exports;
  const seed = crypto.getRandomValues(new Uint8Array(32));
  call("seed", [seed]);
  seed.fill(0);
  return instance;
}

/** Copies `data` (Uint8Array, ArrayBuffer or string) into a wasm buffer: [ptr, len]. */
function put(data) {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : new Uint8Array(data);
  const ptr = instance.alloc(bytes.length);
  new Uint8Array(instance.memory.buffer, ptr, bytes.length).set(bytes);
  return [ptr, bytes.length];
}

/** Calls export `name` with byte inputs (each becomes ptr, len) and then plain numbers. */
function call(name, inputs, numbers = []) {
  const bufs = inputs.map(put);
  try {
    const rc = instance[name](...bufs.flat(), ...numbers);
    const out = new Uint8Array(instance.memory.buffer, instance.out_ptr(), instance.out_len()).slice();
    if (rc !== 0) throw new PkiError(rc, new TextDecoder().decode(out));
    return out;
  } finally {
    for (const [ptr, len] of bufs) {
      new Uint8Array(instance.memory.buffer, ptr, len).fill(0);
      instance.free(ptr);
    }
  }
}

const now = () => BigInt(Math.floor(Date.now() / 1000));

export const pki = {
  csrTbs: (spki, mailbox) => call("csr_tbs", [spki, mailbox]),
  csrAssemble: (sig) => call("csr_assemble", [sig]),
  /** Checks the relay's intermediate; resolves to its description, or throws (refused). */
  describeIntermediate(tbs, rootSpki, domains, mailboxes) {
    const expected = [...domains.map((d) => `domain ${d}`), ...mailboxes.map((m) => `mailbox ${m}`)].join("\n");
    return JSON.parse(new TextDecoder().decode(call("describe_intermediate", [tbs, rootSpki, expected], [now()])));
  },
  rootTbs: (spki) => call("root_tbs", [spki], [now()]),
  rootAssemble: (sig) => call("root_assemble", [sig]),
  intermediateAssemble: (sig) => call("intermediate_assemble", [sig]),
  pkcs12: (pkcs8, ee, inter, root, password, name, compatible) =>
    call("pkcs12", [pkcs8, ee, inter, root, password, name], [compatible ? 1 : 0]),
};
