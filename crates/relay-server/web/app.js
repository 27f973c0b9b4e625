// The page's entry point: sign-in and a hash router (#mailboxes, #aliases, #contacts?alias=1,
// #profiles, #ceremony, #settings). One <section> is shown at a time; focus moves to its heading
// so keyboard and screen-reader users land on what changed.
import { api, token } from "./api.js";
import * as ceremony from "./ceremony.js";
import * as pages from "./pages.js";
import { say } from "./ui.js";

const PAGES = {
  signin: async () => {},
  mailboxes: pages.mailboxes,
  aliases: pages.aliases,
  contacts: pages.contacts,
  profiles: pages.profiles,
  ceremony: ceremony.show,
  settings: pages.settings,
};

async function route() {
  const [name, query] = location.hash.slice(1).split("?");
  let page = PAGES[name] ? name : "mailboxes";
  if (!token.get()) page = "signin";
  document.getElementById("nav").hidden = page === "signin";
  for (const key of Object.keys(PAGES)) document.getElementById(`page-${key}`).hidden = key !== page;
  for (const a of document.querySelectorAll("nav a")) {
    if (a.getAttribute("href") === `#${page}`) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  document.title = `${document.getElementById(`h-${page}`).textContent} – Mail relay`;
  say("");
  try {
    await PAGES[page](new URLSearchParams(query ?? ""));
  } catch (e) {
    if (e.status === 401) {
      token.clear();
      say("Your token is no longer valid: sign in again.", true);
      return route();
    }
    say(e.message, true);
  }
  document.body.dataset.page = page;
  document.body.dataset.ready = "1";
}

async function signIn(event) {
  event.preventDefault();
  const input = document.getElementById("token");
  token.set(input.value.trim());
  try {
    await api("GET", "/api/account");
  } catch (e) {
    token.clear();
    say(e.status === 401 ? "That token is not valid." : e.message, true);
    return;
  }
  input.value = "";
  if (location.hash === "#mailboxes") await route();
  else location.hash = "#mailboxes";
}

document.getElementById("signin-form").addEventListener("submit", signIn);
document.getElementById("signout").addEventListener("click", () => {
  token.clear();
  location.hash = "#signin";
  route();
});
window.addEventListener("hashchange", () => {
  document.body.dataset.ready = "";
  route().then(() => document.getElementById("main").focus());
});
pages.init();
ceremony.init();
route();
