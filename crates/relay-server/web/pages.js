// The account pages: mailboxes, aliases, contacts, profiles (with the issuance log), settings.
// Each `show` fetches what it lists and rebuilds it; every change goes through the API and then
// shows the page again.
import { api } from "./api.js";
import { busy, date, el, offer, say } from "./ui.js";

const $ = (id) => document.getElementById(id);

function form(event) {
  event.preventDefault();
  return [event.currentTarget, Object.fromEntries(new FormData(event.currentTarget))];
}

// ---- mailboxes
export async function mailboxes() {
  const { mailboxes: list } = await api("GET", "/api/mailboxes");
  const passwords = new Map(await Promise.all(list.filter((m) => m.verified).map(async (m) =>
    [m.id, (await api("GET", `/api/mailboxes/${m.id}/app-passwords`)).app_passwords])));
  $("mailbox-list").replaceChildren(
    ...list.map((m) => {
      const badge = m.verified ? el("span", { class: "badge ok" }, "verified") : el("span", { class: "badge bad" }, "not verified");
      const li = el("li", {}, el("strong", {}, m.address), badge);
      if (!m.verified) {
        const id = `code-${m.id}`;
        const verify = el("form", { onsubmit: (e) => confirmCode(e, m.id) },
          el("label", { for: id }, `Code mailed to ${m.address}`),
          el("input", { id, name: "code", autocomplete: "one-time-code", required: true }),
          el("button", { type: "submit" }, "Verify"),
          el("button", { type: "button", class: "secondary", onclick: (e) => busy(e.currentTarget, async () => {
            await api("POST", `/api/mailboxes/${m.id}/resend`);
            say(`A new code was sent to ${m.address}.`);
          }) }, "Send a new code"));
        li.append(verify);
      } else {
        li.append(appPasswords(m, passwords.get(m.id) ?? []));
      }
      return li;
    }),
  );
  if (list.length === 0) $("mailbox-list").append(el("li", { class: "muted" }, "No mailbox yet."));
}

// App passwords: for a mail client that replies through the relay's submission port (STARTTLS,
// then AUTH with the mailbox's address and one of these). Shown once, when made.
function appPasswords(m, list) {
  const id = `app-name-${m.id}`;
  const shown = el("p", { class: "muted", "aria-live": "polite" });
  return el("div", {},
    el("ul", {}, ...list.map((p) => el("li", {}, `App password “${p.name}” `,
      el("button", { type: "button", class: "secondary", onclick: (e) => busy(e.currentTarget, async () => {
        await api("DELETE", `/api/app-passwords/${p.id}`);
        await mailboxes();
        say(`App password “${p.name}” revoked.`);
      }) }, `Revoke ${p.name}`)))),
    el("form", { onsubmit: (e) => newAppPassword(e, m, shown) },
      el("label", { for: id }, `New app password for ${m.address} (name it after the device)`),
      el("input", { id, name: "name", required: true, maxlength: 100 }),
      el("button", { type: "submit" }, "Make app password")),
    shown);
}

async function newAppPassword(event, m, shown) {
  const [f, data] = form(event);
  await busy(f.querySelector("button"), async () => {
    const made = await api("POST", `/api/mailboxes/${m.id}/app-passwords`, { name: data.name });
    shown.replaceChildren("User ", el("code", {}, made.user), ", password ", el("code", { class: "app-password" }, made.password),
      ": copy it now, it is shown only once.");
    say(`App password “${made.name}” made.`);
  });
}

async function confirmCode(event, id) {
  const [f, data] = form(event);
  await busy(f.querySelector("button"), async () => {
    await api("POST", `/api/mailboxes/${id}/confirm`, { code: data.code });
    // Shown first, then said: what the status line announces is on the page.
    await mailboxes();
    say("Mailbox verified.");
  });
}

async function addMailbox(event) {
  const [f, data] = form(event);
  await busy(f.querySelector("button"), async () => {
    const m = await api("POST", "/api/mailboxes", { address: data.address });
    say(m.verification_sent ? `A code was sent to ${m.address}.` : `Added; the code could not be sent yet (try “Send a new code”).`);
    f.reset();
    await mailboxes();
  });
}

// ---- aliases
export async function aliases() {
  const [{ aliases: list }, { mailboxes: boxList }] = await Promise.all([api("GET", "/api/aliases"), api("GET", "/api/mailboxes")]);
  const boxes = new Map(boxList.map((m) => [m.id, m.address]));
  $("alias-mailbox").replaceChildren(...boxList.filter((m) => m.verified).map((m) => el("option", { value: m.id }, m.address)));
  $("alias-list").replaceChildren(
    ...list.map((a) =>
      el("li", {},
        el("strong", {}, a.address),
        el("span", { class: a.enabled ? "badge ok" : "badge bad" }, a.enabled ? "enabled" : `disabled (${a.when_disabled})`),
        el("div", { class: "muted" }, `→ ${boxes.get(a.mailbox_id) ?? "?"}`),
        el("button", { type: "button", "aria-label": `Copy ${a.address}`, onclick: async () => {
          await navigator.clipboard.writeText(a.address).then(() => say(`Copied ${a.address}.`), () => say(a.address));
        } }, "Copy"),
        el("button", { type: "button", onclick: (e) => busy(e.currentTarget, async () => {
          await api("PATCH", `/api/aliases/${a.id}`, { enabled: !a.enabled });
          say(`${a.address} ${a.enabled ? "disabled" : "enabled"}.`);
          await aliases();
        }) }, a.enabled ? "Disable" : "Enable"),
        el("a", { href: `#contacts?alias=${a.id}` }, "Contacts"),
        " ",
        el("form", { class: "inline", onsubmit: (e) => saveReplyName(e, a) },
          el("label", { for: `reply-name-${a.id}` }, `Name on replies from ${a.address} (never yours; empty: none)`),
          el("input", { id: `reply-name-${a.id}`, name: "display_name", value: a.display_name ?? "", maxlength: 64 }),
          el("button", { type: "submit", class: "secondary" }, `Save name for ${a.address}`)),
        el("button", { type: "button", class: "danger", onclick: (e) => busy(e.currentTarget, async () => {
          if (!confirm(`Delete ${a.address} and its contacts? Mail to it will bounce.`)) return;
          await api("DELETE", `/api/aliases/${a.id}`);
          say(`${a.address} deleted.`);
          await aliases();
        }) }, "Delete"),
      ),
    ),
  );
  if (list.length === 0) $("alias-list").append(el("li", { class: "muted" }, "No alias yet."));
}

async function saveReplyName(event, a) {
  const [f, data] = form(event);
  await busy(f.querySelector("button"), async () => {
    const saved = await api("PATCH", `/api/aliases/${a.id}`, { display_name: data.display_name.trim() });
    say(saved.display_name ? `Replies from ${a.address} show “${saved.display_name}”.` : `Replies from ${a.address} show no name.`);
  });
}

async function addAlias(event) {
  const [f, data] = form(event);
  await busy(f.querySelector("button"), async () => {
    const body = { mailbox_id: Number(data.mailbox_id) };
    if (data.prefix) body.prefix = data.prefix;
    const a = await api("POST", "/api/aliases", body);
    say(`Created ${a.address}.`);
    f.reset();
    await aliases();
  });
}

// ---- contacts
export async function contacts(params) {
  const { aliases } = await api("GET", "/api/aliases");
  const select = $("contact-alias");
  const chosen = params.get("alias") ?? select.value ?? (aliases[0] && String(aliases[0].id));
  select.replaceChildren(...aliases.map((a) => el("option", { value: a.id }, a.address)));
  if (chosen && aliases.some((a) => String(a.id) === chosen)) select.value = chosen;
  $("contact-add").hidden = aliases.length === 0;
  if (!select.value) {
    $("contact-list").replaceChildren(el("li", { class: "muted" }, "Create an alias first."));
    return;
  }
  const { contacts: list } = await api("GET", `/api/aliases/${select.value}/contacts`);
  $("contact-list").replaceChildren(
    ...list.map((c) =>
      el("li", {},
        el("strong", {}, c.display_name ? `${c.display_name} <${c.address}>` : c.address),
        c.blocked ? el("span", { class: "badge bad" }, `blocked (${c.blocked})`) : null,
        el("div", {}, "Write to: ", el("code", {}, c.reverse_alias)),
        ...(c.blocked
          ? [el("button", { type: "button", onclick: (e) => block(e, c, null) }, "Unblock")]
          : [el("button", { type: "button", class: "danger", onclick: (e) => block(e, c, "drop") }, "Block (drop)"),
             el("button", { type: "button", class: "danger", onclick: (e) => block(e, c, "reject") }, "Block (reject)")]),
      ),
    ),
  );
  if (list.length === 0) $("contact-list").append(el("li", { class: "muted" }, "No contact yet."));
}

async function block(event, contact, how) {
  await busy(event.currentTarget, async () => {
    await api("PATCH", `/api/contacts/${contact.id}`, { blocked: how });
    say(how ? `${contact.address} blocked.` : `${contact.address} unblocked.`);
    await contacts(new URLSearchParams());
  });
}

async function addContact(event) {
  const [f, data] = form(event);
  await busy(f.querySelector("button"), async () => {
    const body = { address: data.address };
    if (data.display_name) body.display_name = data.display_name;
    const c = await api("POST", `/api/aliases/${$("contact-alias").value}/contacts`, body);
    say(`Write to ${c.reverse_alias} to reach ${c.address} from your alias.`);
    f.reset();
    await contacts(new URLSearchParams());
  });
}

// ---- profiles and the issuance log
export async function profiles() {
  const [{ profiles: list }, { events }] = await Promise.all([api("GET", "/api/profiles"), api("GET", "/api/events")]);
  $("profile-list").replaceChildren(
    ...list.map((p) => {
      const cls = p.status === "active" ? "badge ok" : "badge";
      const li = el("li", {},
        el("strong", {}, p.subject ?? `Profile ${p.id}`), el("span", { class: cls }, p.status),
        el("div", {}, `Valid until ${date(p.not_after)}`),
        el("div", { class: "muted" }, `Serial ${p.serial ?? "–"}`));
      if (p.has_root) {
        const link = el("a", { download: `root-${p.id}.pem`, href: "#profiles" }, "root.pem");
        link.addEventListener("click", async (e) => {
          if (link.href.startsWith("blob:")) return;
          e.preventDefault();
          const pemText = await api("GET", `/api/profiles/${p.id}/root.pem`);
          offer(link, pemText, "application/x-pem-file");
          link.click();
        }, { once: false });
        li.append(el("div", {}, "Download the root: ", link));
      }
      if (p.status === "active") {
        li.append(el("button", { type: "button", class: "danger", onclick: (e) => busy(e.currentTarget, async () => {
          if (!confirm("Retire this profile? Mail is forwarded unencrypted (or refused in strict mode) until a new one is active.")) return;
          await api("POST", `/api/profiles/${p.id}/retire`);
          say("Profile retired.");
          await profiles();
        }) }, "Retire"));
      }
      return li;
    }),
  );
  if (list.length === 0) $("profile-list").append(el("li", { class: "muted" }, "No profile yet: mail is forwarded unencrypted."));
  $("event-table").tBodies[0].replaceChildren(
    ...events.slice().reverse().map((ev) =>
      el("tr", {}, el("td", {}, date(ev.at)), el("td", {}, EVENT_NAMES[ev.kind] ?? ev.kind),
        el("td", {}, [ev.subject, ev.sender, ev.reason && `reason: ${ev.reason.replaceAll("_", " ")}`,
          ev.code && `code ${ev.code}`, ev.text, ev.serial && `serial ${ev.serial}`].filter(Boolean).join(" · "))),
    ),
  );
  if (events.length === 0) $("event-table").tBodies[0].append(el("tr", {}, el("td", { colspan: 3, class: "muted" }, "Nothing yet.")));
}

// ---- settings
const EVENT_NAMES = {
  issued: "Certificate issued",
  reply_refused: "Reply refused",
  next_hop_refused: "Next hop refused",
};

export async function settings() {
  const account = await api("GET", "/api/account");
  $("strict").checked = account.strict;
  $("reply-envelope").checked = account.reply_auth === "envelope";
}

async function saveSettings(event) {
  const [f] = form(event);
  await busy(f.querySelector("button"), async () => {
    const account = await api("PATCH", "/api/account", {
      strict: $("strict").checked,
      reply_auth: $("reply-envelope").checked ? "envelope" : "strong",
    });
    say(`${account.strict ? "Strict mode is on." : "Strict mode is off."} ${
      account.reply_auth === "envelope" ? "Unsigned replies from your mailbox are sent." : "Replies must be signed."}`);
  });
}

export function init() {
  $("mailbox-add").addEventListener("submit", addMailbox);
  $("alias-add").addEventListener("submit", addAlias);
  $("contact-add").addEventListener("submit", addContact);
  $("contact-alias").addEventListener("change", () => contacts(new URLSearchParams()).catch((e) => say(e.message, true)));
  $("settings-form").addEventListener("submit", saveSettings);
}
