// The HTTP API with the bearer token kept in sessionStorage (this tab only; never a cookie, so
// no CSRF: a request from another site cannot carry it).
const KEY = "mailrelay.token";

export const token = {
  get: () => sessionStorage.getItem(KEY),
  set: (t) => sessionStorage.setItem(KEY, t),
  clear: () => sessionStorage.removeItem(KEY),
};

/** An API error with the server's stable code. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** `method path` with an optional JSON body; resolves to the parsed JSON (or null for 204). */
export async function api(method, path, body) {
  const headers = { Authorization: `Bearer ${token.get() ?? ""}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const resp = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: "no-store", credentials: "omit" });
  if (resp.status === 204) return null;
  const type = resp.headers.get("Content-Type") ?? "";
  const data = type.includes("json") ? await resp.json() : await resp.text();
  if (!resp.ok) {
    const err = data && data.error ? data.error : { code: "http_" + resp.status, message: String(data).slice(0, 200) };
    throw new ApiError(resp.status, err.code, err.message);
  }
  return data;
}

/** The relay's public settings (its domains), served next to the page. */
export async function relayConfig() {
  const resp = await fetch("config.json", { cache: "no-store", credentials: "omit" });
  if (!resp.ok) throw new Error(`config.json: HTTP ${resp.status}`);
  return resp.json();
}
