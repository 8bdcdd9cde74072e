// Tokensmith console: a small single-page app over the token API, same origin, no build step.
// Signs in with POST /v1/sessions (the session cookie is HttpOnly: this script never sees it) and
// sends the session's CSRF token as `Authorization: Session <csrf token>` with every request, beside
// the cookie (the API's authorizer needs both; API Gateway answers 401 without the header). A reloaded
// page learns its CSRF token again from GET /v1/sessions/current, the one route that reads the cookie
// alone. Pages are hash routes: #/sign-in, #/tokens, #/create, #/tokens/<id>, #/webhooks,
// #/webhooks/new, #/webhooks/<id>, #/organization. Every text from the API goes into the page as
// text (textContent), never as HTML.

import { organizationPage } from "./organization.js";
import { policyFields, policyPanel } from "./policies.js";

// The service's own scopes (auth.py's SERVICE_SCOPES): admin stands for each of them, never for the
// deployment's own catalog scopes.
const SERVICE_SCOPES = [
  "tokens:read",
  "tokens:write",
  "tokens:manage",
  "tokens:verify",
  "webhooks:read",
  "webhooks:write",
  "console",
  "admin",
];
const STATUSES = ["active", "disabled", "revoked", "expired"];
// The event types a webhook endpoint may subscribe to, as the session's answer lists them.
const eventTypes = () => state.session?.webhook_event_types || [];
const PAGE_SIZE = 20;

const state = {
  session: null, // the answer of POST /v1/sessions or GET /v1/sessions/current
  cursors: [], // the cursors of the pages before the current one (for "Previous page")
  flash: null, // a message for the next page rendered: [text, kind]
  names: new Map(), // token id → name, for the audit trail's "By" column (null: not readable)
};

// --- DOM helpers ---------------------------------------------------------------------------------

export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "text") element.textContent = value;
    else if (value === true) element.setAttribute(name, "");
    else element.setAttribute(name, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

const main = () => document.getElementById("main");

export function render(title, ...children) {
  clearAlert();
  if (state.flash) {
    showAlert(state.flash[0], [], state.flash[1]);
    state.flash = null;
  }
  const heading = h("h1", { tabindex: "-1" }, title);
  main().replaceChildren(heading, ...children.filter((child) => child !== null && child !== undefined && child !== false));
  document.title = `${title} · Tokensmith console`;
  heading.focus();
}

export function showAlert(message, details = [], kind = "error") {
  const alert = document.getElementById("alert");
  alert.className = kind === "info" ? "alert info" : "alert";
  alert.replaceChildren(h("strong", {}, message));
  if (details.length) alert.append(h("ul", {}, details.map((d) => h("li", {}, d))));
  alert.hidden = false;
}

function clearAlert() {
  const alert = document.getElementById("alert");
  alert.hidden = true;
  alert.replaceChildren();
}

export function when(iso) {
  if (!iso) return "—";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toISOString().replace("T", " ").replace(/:\d\d\.\d+Z|:\d\dZ/, " UTC");
}

function badge(status) {
  return h("span", { class: `badge ${status}` }, status);
}

// --- the API ---------------------------------------------------------------------------------------

export class ApiError extends Error {
  constructor(status, problem) {
    const title = problem?.title || problem?.message || `HTTP ${status}`;
    super(problem?.detail ? `${title}: ${problem.detail}` : title);
    this.status = status;
    this.problem = problem || {};
  }

  get fieldErrors() {
    return (this.problem.errors || []).map((e) => `${e.field}: ${e.message}`);
  }
}

// One call of the API: {data, etag}. `ifMatch` makes a change conditional (412 when stale).
export async function request(method, path, body, ifMatch) {
  const headers = { Accept: "application/json, application/problem+json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (state.session) headers.Authorization = `Session ${state.session.csrf_token}`;
  if (ifMatch) headers["If-Match"] = ifMatch;
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
    cache: "no-store",
  });
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = { message: text };
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return { data, etag: response.headers.get("ETag") };
}

async function api(method, path, body, ifMatch) {
  return (await request(method, path, body, ifMatch)).data;
}

// The gateway's own 401 or 403 (no problem+json): the session has ended.
export async function failed(error) {
  if (error instanceof ApiError && [401, 403].includes(error.status) && !error.problem.type) {
    const alive = await loadSession();
    if (!alive) {
      state.flash = ["Your session has ended. Sign in again.", "error"];
      navigate("#/sign-in");
      return;
    }
  }
  if (error instanceof ApiError) showAlert(error.message, error.fieldErrors);
  else showAlert(`The request failed: ${error.message}`);
}

async function loadSession() {
  try {
    state.session = await api("GET", "/v1/sessions/current");
  } catch {
    state.session = null;
  }
  updateHeader();
  return state.session !== null;
}

function scopes() {
  return state.session?.token?.scopes || [];
}

function isAdmin() {
  return scopes().includes("admin");
}

function grants(scope) {
  return scopes().includes(scope) || (isAdmin() && SERVICE_SCOPES.includes(scope));
}

// The API's rules of who may do what (auth.py, the README's security model), so that the console
// offers only what the signed-in token may do and says why it offers nothing. The API decides:
// these only hide what it would refuse.

function signedIn() {
  return state.session?.token || {};
}

function managesOrganization() {
  return grants("tokens:manage");
}

// Why the signed-in token may not change, rotate, disable, enable, revoke or delete `token`; null: it may.
function whyNotChange(token) {
  if (!grants("tokens:write")) return "Your token lacks the tokens:write scope: it can read this token, not change it.";
  const missing = (token.scopes || []).filter((scope) => !grants(scope));
  if (missing.length) {
    return `This token holds scopes your token lacks (${missing.join(", ")}): only a token holding them may change, rotate, disable, enable, revoke or delete it.`;
  }
  if (!managesOrganization() && (token.owner || null) !== (signedIn().owner || null)) {
    return "This token belongs to another owner: changing it needs tokens:manage.";
  }
  return null;
}

// Why the signed-in token may not re-enable `token` (a disable binds its authority); null: it may.
function whyNotEnable(token) {
  const needed = token.disabled_by?.authority;
  return needed && !grants(needed) ? `It was disabled by a token holding ${needed}: re-enabling needs ${needed}.` : null;
}

// The latest day (YYYY-MM-DD, taken as 23:59:59 UTC) a token may give itself: never later than its
// own expiry (null: no expiry yet, so the deployment's lifetime limit, if any).
function latestOwnExpiryDay(token) {
  if (!token.expires_at) return lifetimeLimit();
  const current = new Date(token.expires_at);
  const day = current.toISOString().slice(0, 10);
  if (new Date(`${day}T23:59:59Z`) <= current) return day;
  return new Date(current.getTime() - 86400000).toISOString().slice(0, 10);
}

function updateHeader() {
  const who = document.getElementById("who");
  const signOut = document.getElementById("sign-out");
  const nav = document.getElementById("nav");
  if (state.session) {
    const token = state.session.token;
    who.textContent = `${token.organization_id} · signed in as “${token.name}”${isAdmin() ? " (admin)" : ""}`;
    who.hidden = false;
    signOut.hidden = false;
    nav.hidden = false;
    document.getElementById("nav-webhooks").hidden = !grants("webhooks:read");
    document.getElementById("nav-organization").hidden = !managesOrganization();
    state.names.set(token.id, token.name);
  } else {
    who.hidden = true;
    signOut.hidden = true;
    nav.hidden = true;
  }
}

// --- confirmation dialog ---------------------------------------------------------------------------

function confirmAction(title, text, fields = [], okLabel = "Confirm", danger = false) {
  const dialog = document.getElementById("confirm");
  document.getElementById("confirm-title").textContent = title;
  document.getElementById("confirm-text").textContent = text;
  document.getElementById("confirm-fields").replaceChildren(...fields);
  const ok = document.getElementById("confirm-ok");
  ok.textContent = okLabel;
  ok.className = danger ? "danger" : "";
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
    dialog.returnValue = "";
    dialog.showModal();
  });
}

// --- pages -----------------------------------------------------------------------------------------

function signInPage() {
  const input = h("input", {
    type: "password",
    id: "token",
    name: "token",
    required: true,
    autocomplete: "off",
    spellcheck: "false",
    "aria-describedby": "token-hint",
  });
  const form = h(
    "form",
    { class: "stack", id: "sign-in-form" },
    h("div", {}, h("label", { for: "token" }, "Token"), input),
    h(
      "p",
      { id: "token-hint", class: "hint" },
      "Paste a token that holds the console scope (or admin). It is sent once to open a session and is not kept by this page.",
    ),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Sign in")),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const secret = input.value.trim();
    input.value = "";
    try {
      state.session = await api("POST", "/v1/sessions", { token: secret });
      updateHeader();
      navigate("#/tokens");
    } catch (error) {
      await failed(error);
    }
  });
  render("Sign in", form);
}

// The query of a list page: its size, the cursor, and the organization an admin asked for.
function listQuery(params) {
  const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
  const cursor = params.get("cursor") || "";
  const organization = params.get("organization_id") || "";
  if (cursor) query.set("cursor", cursor);
  if (organization && isAdmin()) query.set("organization_id", organization);
  return query;
}

// What a page shows, read from the API; on a failure the page is its title and the API's words (null).
export async function readFor(title, read) {
  try {
    return await read();
  } catch (error) {
    render(title);
    await failed(error);
    return null;
  }
}

async function tokensPage(params) {
  const status = params.get("status") || "";
  const cursor = params.get("cursor") || "";
  const organization = params.get("organization_id") || "";
  const query = listQuery(params);
  if (status) query.set("status", status);
  const page = await readFor("Tokens", () => api("GET", `/v1/tokens?${query}`));
  if (!page) return;
  const filter = h(
    "select",
    { id: "status-filter", name: "status" },
    h("option", { value: "" }, "All live and ended"),
    STATUSES.map((s) => h("option", { value: s, selected: s === status }, s)),
  );
  const toolbarItems = [h("div", {}, h("label", { for: "status-filter" }, "Status"), filter)];
  let orgInput = null;
  if (isAdmin()) {
    orgInput = h("input", {
      type: "text",
      id: "organization-filter",
      value: organization || state.session.token.organization_id,
    });
    toolbarItems.push(h("div", {}, h("label", { for: "organization-filter" }, "Organization"), orgInput));
  }
  const apply = h("button", { type: "submit", class: "secondary" }, "Show");
  const filters = h("form", { class: "toolbar", id: "filters" }, toolbarItems, h("div", {}, apply));
  filters.addEventListener("submit", (event) => {
    event.preventDefault();
    state.cursors = [];
    const next = new URLSearchParams();
    if (filter.value) next.set("status", filter.value);
    if (orgInput && orgInput.value.trim()) next.set("organization_id", orgInput.value.trim());
    navigate(`#/tokens?${next}`);
  });
  const rows = page.items.map((token) =>
    h(
      "tr",
      {},
      h("td", { "data-label": "Name" }, h("a", { href: `#/tokens/${token.id}` }, token.name)),
      h("td", { "data-label": "Status" }, badge(token.status)),
      h("td", { "data-label": "Scopes" }, h("span", { class: "mono" }, token.scopes.join(" ") || "—")),
      h("td", { "data-label": "Owner" }, token.owner || "—"),
      h("td", { "data-label": "Expires", class: "when" }, when(token.expires_at)),
      h("td", { "data-label": "Last used", class: "when" }, when(token.last_used_at)),
    ),
  );
  const table = rows.length
    ? h(
        "table",
        { class: "cards", id: "tokens" },
        h("thead", {}, h("tr", {}, ["Name", "Status", "Scopes", "Owner", "Expires", "Last used"].map((c) => h("th", { scope: "col" }, c)))),
        h("tbody", {}, rows),
      )
    : h("p", { class: "muted" }, "No tokens here.");
  const paging = h("div", { class: "actions" });
  if (state.cursors.length) {
    paging.append(
      h("button", { type: "button", class: "secondary", onclick: () => {
        const previous = state.cursors.pop();
        const next = new URLSearchParams(params);
        if (previous) next.set("cursor", previous);
        else next.delete("cursor");
        navigate(`#/tokens?${next}`);
      } }, "Previous page"),
    );
  }
  if (page.next_cursor) {
    paging.append(
      h("button", { type: "button", class: "secondary", onclick: () => {
        state.cursors.push(cursor);
        const next = new URLSearchParams(params);
        next.set("cursor", page.next_cursor);
        navigate(`#/tokens?${next}`);
      } }, "Next page"),
    );
  }
  const create = grants("tokens:write") ? h("a", { class: "button", href: "#/create", id: "create-link" }, "Create token") : null;
  render("Tokens", h("div", { class: "actions" }, create), filters, table, paging);
}

function lifetimeLimit() {
  const days = state.session?.max_token_lifetime_days || 0;
  if (!days) return null;
  const limit = new Date(Date.now() + (days - 1) * 86400000);
  return limit.toISOString().slice(0, 10);
}

function createPage() {
  const name = h("input", { type: "text", id: "name", required: true, maxlength: "256", autocomplete: "off" });
  const description = h("textarea", { id: "description", rows: "2", maxlength: "2048" });
  // Without tokens:manage a token creates tokens for its own owner only (the API answers 403 otherwise).
  const ownOwner = managesOrganization() ? null : signedIn().owner || "";
  const owner = h("input", {
    type: "text",
    id: "owner",
    maxlength: "320",
    autocomplete: "off",
    value: ownOwner,
    readonly: ownOwner !== null,
    "aria-describedby": ownOwner !== null ? "owner-hint" : null,
  });
  const tomorrow = new Date(Date.now() + 86400000).toISOString().slice(0, 10);
  const limit = lifetimeLimit();
  const expires = h("input", { type: "date", id: "expires", min: tomorrow, max: limit, "aria-describedby": "expires-hint" });
  const catalog = state.session?.scope_catalog || [];
  const checks = catalog.map((scope) => {
    const id = `scope-${scope.replace(/[^A-Za-z0-9]/g, "-")}`;
    return h(
      "label",
      { for: id },
      h("input", { type: "checkbox", id, name: "scopes", value: scope, disabled: !grants(scope) }),
      h("span", { class: "mono" }, scope),
    );
  });
  const fields = [
    h("div", {}, h("label", { for: "name" }, "Name"), name),
    h("div", {}, h("label", { for: "description" }, "Description ", h("span", { class: "hint" }, "(optional)")), description),
    h(
      "fieldset",
      {},
      h("legend", {}, "Scopes"),
      h("p", { class: "hint" }, "A token can only get scopes your own token holds (others are greyed out)."),
      h("div", { class: "checks" }, checks),
    ),
    h(
      "div",
      {},
      h("label", { for: "expires" }, "Expires on ", h("span", { class: "hint" }, "(optional, end of day UTC)")),
      expires,
      h("p", { id: "expires-hint", class: "hint" }, limit ? `Empty: the longest lifetime allowed, ${state.session.max_token_lifetime_days} days. Latest: ${limit}.` : "Empty: never expires."),
    ),
    ownOwner === null
      ? h("div", {}, h("label", { for: "owner" }, "Owner ", h("span", { class: "hint" }, "(optional: a user id or e-mail)")), owner)
      : h(
          "div",
          {},
          h("label", { for: "owner" }, "Owner"),
          owner,
          h(
            "p",
            { id: "owner-hint", class: "hint" },
            ownOwner
              ? `Your token creates tokens for its own owner, ${ownOwner}, only: another owner needs tokens:manage.`
              : "Your token has no owner: it creates owner-less tokens only. An owner needs tokens:manage.",
          ),
        ),
  ];
  let organization = null;
  if (isAdmin()) {
    organization = h("input", { type: "text", id: "organization", value: state.session.token.organization_id });
    fields.push(h("div", {}, h("label", { for: "organization" }, "Organization"), organization));
  }
  const form = h(
    "form",
    { class: "stack", id: "create-form" },
    fields,
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Create token"), h("a", { class: "button secondary", href: "#/tokens" }, "Cancel")),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = {
      name: name.value,
      scopes: [...form.querySelectorAll("input[name=scopes]:checked")].map((c) => c.value),
    };
    if (description.value) body.description = description.value;
    if (owner.value.trim()) body.owner = owner.value.trim();
    if (expires.value) body.expires_at = `${expires.value}T23:59:59Z`;
    if (organization && organization.value.trim() && organization.value.trim() !== state.session.token.organization_id) {
      body.organization_id = organization.value.trim();
    }
    try {
      const created = await api("POST", "/v1/tokens", body);
      secretPage("Token created", created.token, created.secret);
    } catch (error) {
      await failed(error);
    }
  });
  render("Create a token", form);
}

// The secret lives in this page only: navigating away replaces it, and nothing stores it.
function secretPage(title, token, secret, back = { href: `#/tokens/${token.id}`, label: "I have stored it — show the token" }) {
  const value = h("input", { type: "text", id: "secret", readonly: true, value: secret, "aria-describedby": "secret-warning", class: "mono" });
  const status = h("span", { role: "status", id: "copy-status" });
  const copy = h("button", { type: "button", id: "copy", onclick: async () => {
    try {
      await navigator.clipboard.writeText(secret);
      status.textContent = "Copied.";
    } catch {
      value.select();
      status.textContent = "Selected: press Ctrl+C (⌘C) to copy.";
    }
  } }, "Copy");
  render(
    title,
    h(
      "section",
      { class: "secret", "aria-label": "New secret" },
      h("p", { id: "secret-warning" }, h("strong", {}, "Copy this secret now. "), "It is shown only this once: Tokensmith stores only its digest and cannot show it again. Store it somewhere safe, such as a secrets manager."),
      h("label", { for: "secret", id: "secret-label" }, `Secret of “${token.name || token.url}”`),
      h("div", { class: "value" }, value, copy),
      status,
    ),
    // navigate(): after a rotation the page's hash already is back.href, where a plain link does nothing
    h("div", { class: "actions" }, h("a", { class: "button", href: back.href, id: "done", onclick: (event) => { event.preventDefault(); navigate(back.href); } }, back.label)),
  );
  value.select();
}

// "disabled by <token name> — re-enabling needs tokens:manage": who disabled it, and what undoes it.
function disabledBy(by) {
  const needs = by.authority ? ` — re-enabling needs ${by.authority}` : " — any token that may change it can re-enable it";
  const name = state.names.get(by.token_id);
  const who = name ? h("a", { href: `#/tokens/${by.token_id}`, title: by.token_id }, name) : h("span", { class: "mono" }, by.token_id);
  return h("span", { id: "disabled-by" }, "disabled by ", who, needs);
}

export function field(label, value) {
  return [h("dt", {}, label), h("dd", {}, value === null || value === undefined || value === "" ? "—" : value)];
}

async function tokenPage(id) {
  const read = await readFor("Token", async () => {
    const path = `/v1/tokens/${encodeURIComponent(id)}`;
    // The usage state (policies.js) is a panel of the page: the page stands without it.
    const usage = api("GET", `${path}/usage`).catch(() => null);
    const [answer, trail, now] = await Promise.all([request("GET", path), api("GET", `${path}/events?limit=50`), usage]);
    await learnNames([...trail.items.map((event) => event.actor?.token_id), answer.data.disabled_by?.token_id]);
    return [answer, trail, now];
  });
  if (!read) return;
  const [{ data: token, etag }, events, usage] = read;
  const details = h(
    "dl",
    { class: "fields", id: "token-fields" },
    field("Status", badge(token.status)),
    field("ID", h("span", { class: "mono" }, token.id)),
    field("Organization", token.organization_id),
    field("Owner", token.owner),
    field("Description", token.description),
    field("Scopes", h("span", { class: "mono" }, token.scopes.join(" "))),
    field("Starts with", h("span", { class: "mono" }, `${token.start}…`)),
    field("Created", when(token.created_at)),
    field("Expires", when(token.expires_at)),
    field("Revoked", token.revoked_at ? `${when(token.revoked_at)}: ${token.revoked_reason || ""}` : null),
    token.status === "disabled" && token.disabled_by ? field("Disabled by", disabledBy(token.disabled_by)) : null,
    field("Version", String(token.version)),
  );
  const actions = h("div", { class: "actions", id: "token-actions" });
  const path = `/v1/tokens/${encodeURIComponent(token.id)}`;
  const act = (label, run, danger = false) => h("button", { type: "button", class: danger ? "danger" : "secondary", onclick: run }, label);
  const live = token.status === "active" || token.status === "disabled";
  const own = token.id === signedIn().id;
  // Why the page offers less than it could: one sentence per rule that hides something.
  const why = [];
  const refused = token.status === "deleted" ? null : whyNotChange(token);
  if (refused) why.push(refused);
  else {
    if (token.status === "active") {
      actions.append(act("Edit", () => editToken(token, etag, own, change)));
      actions.append(act("Disable", async () => {
        if (await confirmAction("Disable this token?", `“${token.name}” stops working until it is enabled again.`, [], "Disable")) {
          await change("POST", `${path}/disable`);
        }
      }));
    }
    if (token.status === "disabled") {
      const noEnable = whyNotEnable(token);
      if (noEnable) why.push(`You cannot enable it. ${noEnable}`);
      else {
        actions.append(act("Enable", async () => {
          if (await confirmAction("Enable this token?", `“${token.name}” works again.`, [], "Enable")) await change("POST", `${path}/enable`);
        }));
      }
    }
    if (token.status === "active") {
      actions.append(act("Rotate", async () => {
        const grace = h("input", { type: "number", id: "grace", min: "0", max: "604800", value: "3600" });
        // retire_on_first_use caps a grace period: without one (0) the API refuses it, so the box goes grey.
        const retire = h("input", { type: "checkbox", id: "retire-on-first-use", name: "retire-on-first-use" });
        grace.addEventListener("input", () => {
          retire.disabled = !(Number(grace.value || 0) > 0);
          if (retire.disabled) retire.checked = false;
        });
        const fields = [
          h("label", { for: "grace" }, "Grace period (seconds) for the old secret"),
          grace,
          h("label", { for: "retire-on-first-use", class: "option" }, retire, h("span", {}, "End the grace period at the new secret's first use")),
        ];
        if (!(await confirmAction("Rotate the secret?", "A new secret is shown once; the old one keeps working for the grace period, or until the new one is first used if you tick the box.", fields, "Rotate"))) return;
        try {
          const body = { grace_period_seconds: Number(grace.value || 0) };
          if (retire.checked) body.retire_on_first_use = true;
          const rotated = await api("POST", `${path}/rotate`, body);
          secretPage("Secret rotated", rotated.token, rotated.secret);
        } catch (error) {
          await refusedOrFailed(error);
        }
      }));
    }
    if (live) {
      actions.append(act("Revoke", async () => {
        const reason = h("input", { type: "text", id: "reason", required: true, maxlength: "512" });
        const fields = [h("label", { for: "reason" }, "Reason"), reason];
        if (!(await confirmAction("Revoke this token?", `Revoking “${token.name}” is final: it can never be used again.`, fields, "Revoke", true))) return;
        await change("POST", `${path}/revoke`, { reason: reason.value.trim() });
      }, true));
    }
    if (token.status !== "deleted") {
      actions.append(act("Delete", async () => {
        if (!(await confirmAction("Delete this token?", `“${token.name}” stops working at once and disappears from lists.`, [], "Delete", true))) return;
        try {
          await api("DELETE", path);
          state.flash = ["The token was deleted.", "info"];
          navigate("#/tokens");
        } catch (error) {
          await refusedOrFailed(error);
        }
      }, true));
    }
  }
  const note = why.length ? h("p", { class: "hint", id: "token-actions-why" }, why.join(" ")) : null;
  const sections = [details, actions, note, usagePanel(token), policyPanel(token, usage)];
  if (isAdmin()) sections.push(adminPanel(token, path, own));
  sections.push(h("h2", { id: "events-heading" }, "Audit events"), eventsTable(events.items));
  render(token.name, ...sections.filter(Boolean));

  async function change(method, url, body, ifMatch) {
    try {
      await api(method, url, body, ifMatch);
      await tokenPage(id);
    } catch (error) {
      await refusedOrFailed(error);
    }
  }

  // The API refused (403, 404, 409, 412 problem+json: the token changed since the page was drawn, or
  // a rule the page does not know): show the token as it is now, and the API's words.
  async function refusedOrFailed(error) {
    if (error instanceof ApiError && error.problem.type && [403, 404, 409, 412].includes(error.status)) {
      await tokenPage(id);
      if (error.status === 412) showAlert(...conflictInWords("token"));
      else showAlert(error.message, error.fieldErrors);
    } else {
      await failed(error);
    }
  }
}

// Edit a token's name, description, scopes, expiry and usage policies: a PATCH with If-Match, so
// that a change made by someone else since the page was drawn is not overwritten (412, in words). On the signed-in
// token's own page the expiry only moves earlier: a token never extends its own life (the API answers 403).
async function editToken(token, etag, own, change) {
  const name = h("input", { type: "text", id: "edit-name", required: true, maxlength: "256", autocomplete: "off", value: token.name });
  const description = h("textarea", { id: "edit-description", rows: "2", maxlength: "2048" }, token.description || "");
  const tomorrow = new Date(Date.now() + 86400000).toISOString().slice(0, 10);
  const latest = own ? latestOwnExpiryDay(token) : lifetimeLimit();
  const expires = h("input", { type: "date", id: "edit-expires", min: tomorrow, max: latest, "aria-describedby": "edit-expires-hint" });
  let hint = latest ? `Empty: unchanged. Latest: ${latest}.` : "Empty: unchanged.";
  if (own && token.expires_at) {
    hint = `This is your own token: its expiry can only move earlier (latest: ${latest}). Extending it takes another token that may manage it.`;
  }
  const catalog = [...new Set([...(state.session?.scope_catalog || []), ...token.scopes])];
  const checks = catalog.map((scope) => {
    const checkId = `edit-scope-${scope.replace(/[^A-Za-z0-9]/g, "-")}`;
    const held = token.scopes.includes(scope);
    return h(
      "label",
      { for: checkId },
      h("input", { type: "checkbox", id: checkId, name: "edit-scopes", value: scope, checked: held, disabled: !held && !grants(scope) }),
      h("span", { class: "mono" }, scope),
    );
  });
  const fields = [
    h("div", {}, h("label", { for: "edit-name" }, "Name"), name),
    h("div", {}, h("label", { for: "edit-description" }, "Description"), description),
    h(
      "fieldset",
      {},
      h("legend", {}, "Scopes"),
      h("p", { class: "hint" }, "Only scopes your own token holds can be added (others are greyed out)."),
      h("div", { class: "checks" }, checks),
    ),
    h(
      "div",
      {},
      h("label", { for: "edit-expires" }, "Expires on ", h("span", { class: "hint" }, "(end of day UTC)")),
      expires,
      h("p", { id: "edit-expires-hint", class: "hint" }, hint),
    ),
  ];
  // Loosening a usage policy takes tokens:manage, and never the token itself (policies.js).
  const policies = policyFields(token, managesOrganization() && !own);
  fields.push(...policies.fields);
  if (!(await confirmAction("Edit this token", `Current expiry: ${when(token.expires_at)}.`, fields, "Save"))) return;
  let body;
  try {
    body = policies.body();
  } catch (error) {
    showAlert(error.message);
    return;
  }
  if (name.value !== token.name) body.name = name.value;
  if (description.value !== (token.description || "")) body.description = description.value;
  const scopes = checks.map((label) => label.querySelector("input")).filter((c) => c.checked).map((c) => c.value);
  if (scopes.join(" ") !== catalog.filter((s) => token.scopes.includes(s)).join(" ")) body.scopes = scopes;
  if (expires.value) body.expires_at = `${expires.value}T23:59:59Z`;
  if (!Object.keys(body).length) {
    showAlert("Nothing to change.", [], "info");
    return;
  }
  await change("PATCH", `/v1/tokens/${encodeURIComponent(token.id)}`, body, etag);
}

// A 412 in words: [message, details] for showAlert.
export function conflictInWords(subject) {
  return [
    `Not saved: someone changed this ${subject} after you opened it.`,
    [`The page now shows the ${subject} as it is. Check it, then make your change again.`],
  ];
}

// Last use of a token, and where from (its usage policies: policies.js).
function usagePanel(token) {
  const body = token.last_used_at
    ? h(
        "dl",
        { class: "fields" },
        field("Last used", when(token.last_used_at)),
        field("From", token.last_used_ip),
        field("User agent", token.last_used_user_agent),
      )
    : h("p", { class: "muted" }, "Never used.");
  const heading = h("h2", { id: "usage-heading" }, "Usage");
  return h("section", { class: "panel", id: "usage", "aria-labelledby": "usage-heading" }, heading, body, networksTable(token.networks || []));
}

// The networks the token was used from (IPv4 /24, IPv6 /48), the most recently seen first: a use
// from one not listed is a token.new_location event (README, "Networks seen").
function networksTable(networks) {
  if (!networks.length) return null;
  return h(
    "table",
    { class: "cards", id: "networks", "aria-label": "Networks it was used from" },
    h("thead", {}, h("tr", {}, ["Network", "First seen", "Last seen", "User agent"].map((c) => h("th", { scope: "col" }, c)))),
    h(
      "tbody",
      {},
      networks.map((seen) =>
        h(
          "tr",
          {},
          h("td", { "data-label": "Network", class: "mono" }, seen.network),
          h("td", { "data-label": "First seen", class: "when" }, when(seen.first_seen_at)),
          h("td", { "data-label": "Last seen", class: "when" }, when(seen.last_seen_at)),
          h("td", { "data-label": "User agent" }, seen.user_agent || "—"),
        ),
      ),
    ),
  );
}

function adminPanel(token, path, own) {
  const status = h("select", { id: "admin-status" }, h("option", { value: "" }, "(unchanged)"), STATUSES.map((s) => h("option", { value: s }, s)));
  // A token never extends its own life, an admin's neither: on its own page, no later than now set.
  const ownLimit = own && token.expires_at ? token.expires_at.slice(0, 19) : null;
  const expires = h("input", { type: "datetime-local", id: "admin-expires", step: "1", max: ownLimit, "aria-describedby": ownLimit ? "admin-expires-hint" : null });
  const owner = h("input", { type: "text", id: "admin-owner", value: token.owner || "", autocomplete: "off" });
  const reason = h("input", { type: "text", id: "admin-reason", maxlength: "512" });
  const form = h(
    "form",
    { class: "stack", id: "admin-form" },
    h("div", {}, h("label", { for: "admin-status" }, "Status"), status),
    h(
      "div",
      {},
      h("label", { for: "admin-expires" }, "Expires at ", h("span", { class: "hint" }, "(UTC; empty = unchanged)")),
      expires,
      ownLimit ? h("p", { id: "admin-expires-hint", class: "hint" }, "This is your own token: its expiry can only move earlier.") : null,
    ),
    h("div", {}, h("label", { for: "admin-owner" }, "Owner"), owner),
    h("div", {}, h("label", { for: "admin-reason" }, "Revocation reason ", h("span", { class: "hint" }, "(with status revoked)")), reason),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Apply admin changes")),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = {};
    if (status.value) body.status = status.value;
    if (expires.value) body.expires_at = `${expires.value.length === 16 ? `${expires.value}:00` : expires.value}Z`;
    if (owner.value.trim() && owner.value.trim() !== (token.owner || "")) body.owner = owner.value.trim();
    if (reason.value.trim()) body.revoked_reason = reason.value.trim();
    if (!Object.keys(body).length) {
      showAlert("Nothing to change: fill in at least one field.");
      return;
    }
    const summary = Object.entries(body).map(([k, v]) => `${k} = ${v}`).join(", ");
    if (!(await confirmAction("Apply admin changes?", summary, [], "Apply", true))) return;
    try {
      await api("PATCH", `/v1/admin/tokens/${encodeURIComponent(token.id)}`, body);
      state.flash = ["Admin changes applied.", "info"];
      await tokenPage(token.id);
    } catch (error) {
      await failed(error);
    }
  });
  return h("section", { class: "panel", "aria-labelledby": "admin-heading" }, h("h2", { id: "admin-heading" }, "Admin"), form);
}

// The names of the tokens that acted in an audit trail, read once each (a token the signed-in one
// may not read, or one that is gone, keeps its id).
async function learnNames(ids) {
  const unknown = [...new Set(ids.filter((id) => id && !state.names.has(id)))];
  await Promise.all(
    unknown.map(async (id) => {
      try {
        state.names.set(id, (await api("GET", `/v1/tokens/${encodeURIComponent(id)}`)).name);
      } catch {
        state.names.set(id, null);
      }
    }),
  );
}

function actorOf(event) {
  const actor = event.actor || {};
  if (actor.system) return h("span", {}, "Tokensmith (automatic)");
  if (!actor.token_id) return "—";
  const name = state.names.get(actor.token_id);
  const owner = actor.owner ? ` (${actor.owner})` : "";
  return name
    ? h("span", { title: actor.token_id }, h("a", { href: `#/tokens/${actor.token_id}` }, name), owner)
    : h("span", {}, h("span", { class: "mono" }, actor.token_id), owner);
}

function shown(value) {
  if (value === null || value === undefined || value === "") return "—";
  if (Array.isArray(value)) return value.length ? value.map((item) => (typeof item === "object" ? JSON.stringify(item) : item)).join(" ") : "(none)";
  if (typeof value === "string" && /^\d{4}-\d\d-\d\dT/.test(value)) return h("span", { class: "when" }, when(value));
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

function eventDetails(event) {
  const lines = [];
  for (const [name, change] of Object.entries(event.changes || {})) {
    lines.push(h("li", {}, h("span", { class: "field-name" }, name), ": ", shown(change.from), " → ", shown(change.to)));
  }
  if (event.reason) lines.push(h("li", {}, `reason: ${event.reason}`));
  const details = event.details || {};
  if (event.type === "token.expiring") {
    const ahead = details.days_before ? ` (notice ${details.days_before} day${details.days_before === 1 ? "" : "s"} ahead)` : "";
    lines.push(h("li", {}, `expires ${when(details.expires_at)}${ahead}`));
  } else if (event.type === "token.new_location") {
    lines.push(h("li", {}, `used from a new network: ${details.network}`));
    if (details.user_agent) lines.push(h("li", {}, `user agent: ${details.user_agent}`));
    lines.push(h("li", {}, `seen before from: ${shown(details.previous_networks)}`));
    if (details.disabled) lines.push(h("li", {}, "the token was disabled (the organization's policy: on_new_location disable)"));
  } else if (event.type === "token.inactive_soon") {
    const left = `${details.days_left} day${details.days_left === 1 ? "" : "s"} left`;
    lines.push(h("li", {}, "unused: revoked ", shown(details.revoke_at), ` unless used before (${left})`));
    lines.push(h("li", {}, "last used: ", details.last_used_at ? shown(details.last_used_at) : "never"));
  } else if (event.type === "token.rotation_completed") {
    lines.push(h("li", {}, "the new secret was used: the old one stopped working"));
    if (details.grace_was_until) lines.push(h("li", {}, "its grace period would have ended ", shown(details.grace_was_until)));
  } else {
    for (const [name, value] of Object.entries(details)) lines.push(h("li", {}, `${name}: ${shown(value)}`));
  }
  return lines.length ? h("ul", { class: "changes" }, lines) : "—";
}

function eventsTable(items) {
  if (!items.length) return h("p", { class: "muted" }, "No events.");
  return h(
    "table",
    { class: "cards", id: "events" },
    h("thead", {}, h("tr", {}, ["When", "Event", "By", "From", "Details"].map((c) => h("th", { scope: "col" }, c)))),
    h(
      "tbody",
      {},
      items.map((event) =>
        h(
          "tr",
          {},
          h("td", { "data-label": "When", class: "when" }, when(event.occurred_at)),
          h("td", { "data-label": "Event" }, h("span", { class: "mono" }, event.type)),
          h("td", { "data-label": "By" }, actorOf(event)),
          h("td", { "data-label": "From" }, event.ip || "—"),
          h("td", { "data-label": "Details" }, eventDetails(event)),
        ),
      ),
    ),
  );
}

// --- webhook endpoints ------------------------------------------------------------------------------

function enabledBadge(webhook) {
  return webhook.enabled ? h("span", { class: "badge active" }, "enabled") : h("span", { class: "badge disabled" }, "disabled");
}

async function webhooksPage(params) {
  const organization = params.get("organization_id") || "";
  const page = await readFor("Webhook endpoints", () => api("GET", `/v1/webhooks?${listQuery(params)}`));
  if (!page) return;
  let filters = null;
  if (isAdmin()) {
    const orgInput = h("input", { type: "text", id: "organization-filter", value: organization || state.session.token.organization_id });
    filters = h(
      "form",
      { class: "toolbar", id: "filters" },
      h("div", {}, h("label", { for: "organization-filter" }, "Organization"), orgInput),
      h("div", {}, h("button", { type: "submit", class: "secondary" }, "Show")),
    );
    filters.addEventListener("submit", (event) => {
      event.preventDefault();
      const next = new URLSearchParams();
      if (orgInput.value.trim()) next.set("organization_id", orgInput.value.trim());
      navigate(`#/webhooks?${next}`);
    });
  }
  const rows = page.items.map((webhook) =>
    h(
      "tr",
      {},
      h("td", { "data-label": "URL", class: "url" }, h("a", { href: `#/webhooks/${webhook.id}` }, webhook.url)),
      h("td", { "data-label": "Status" }, enabledBadge(webhook)),
      h("td", { "data-label": "Events" }, eventTypesOf(webhook)),
      h("td", { "data-label": "Description" }, webhook.description || "—"),
    ),
  );
  const table = rows.length
    ? h(
        "table",
        { class: "cards", id: "webhooks" },
        h("thead", {}, h("tr", {}, ["URL", "Status", "Events", "Description"].map((c) => h("th", { scope: "col" }, c)))),
        h("tbody", {}, rows),
      )
    : h("p", { class: "muted" }, "No webhook endpoints yet.");
  const paging = h("div", { class: "actions" });
  if (page.next_cursor) {
    const next = new URLSearchParams(params);
    next.set("cursor", page.next_cursor);
    paging.append(h("a", { class: "button secondary", href: `#/webhooks?${next}` }, "Next page"));
  }
  const add = grants("webhooks:write") ? h("a", { class: "button", href: "#/webhooks/new", id: "add-webhook" }, "Add endpoint") : null;
  const intro = h("p", { class: "hint" }, "Each endpoint receives the organization's token events, signed per Standard Webhooks.");
  render("Webhook endpoints", intro, h("div", { class: "actions" }, add), filters, table, paging);
}

function eventTypesOf(webhook) {
  const all = eventTypes().every((type) => webhook.event_types.includes(type));
  return h("span", { class: "mono" }, all ? "every event" : webhook.event_types.join(" "));
}

// Create an endpoint (webhook null) or edit one (PATCH with If-Match).
function webhookForm(webhook, etag) {
  const url = h("input", { type: "text", id: "webhook-url", required: true, maxlength: "2048", autocomplete: "off", value: webhook?.url || "", inputmode: "url", "aria-describedby": "webhook-url-hint" });
  const description = h("textarea", { id: "webhook-description", rows: "2", maxlength: "2048" }, webhook?.description || "");
  const checks = eventTypes().map((type) => {
    const id = `event-${type.replace(/[^A-Za-z0-9]/g, "-")}`;
    return h("label", { for: id }, h("input", { type: "checkbox", id, name: "event-types", value: type, checked: webhook ? webhook.event_types.includes(type) : false }), h("span", { class: "mono" }, type));
  });
  const fields = [
    h("div", {}, h("label", { for: "webhook-url" }, "URL"), url, h("p", { id: "webhook-url-hint", class: "hint" }, "https:// and a public address.")),
    h("div", {}, h("label", { for: "webhook-description" }, "Description ", h("span", { class: "hint" }, "(optional)")), description),
    h("fieldset", {}, h("legend", {}, "Events"), h("p", { class: "hint" }, webhook ? "The events it receives." : "None ticked: every event."), h("div", { class: "checks" }, checks)),
  ];
  let organization = null;
  if (!webhook && isAdmin()) {
    organization = h("input", { type: "text", id: "webhook-organization", value: state.session.token.organization_id });
    fields.push(h("div", {}, h("label", { for: "webhook-organization" }, "Organization"), organization));
  }
  const cancel = webhook ? `#/webhooks/${webhook.id}` : "#/webhooks";
  const form = h(
    "form",
    { class: "stack", id: "webhook-form" },
    fields,
    h("div", { class: "actions" }, h("button", { type: "submit" }, webhook ? "Save" : "Add endpoint"), h("a", { class: "button secondary", href: cancel }, "Cancel")),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const types = checks.map((label) => label.querySelector("input")).filter((c) => c.checked).map((c) => c.value);
    const body = {};
    if (!webhook || url.value.trim() !== webhook.url) body.url = url.value.trim();
    if (!webhook || description.value !== (webhook.description || "")) {
      if (description.value || webhook) body.description = description.value;
    }
    if (types.length && (!webhook || types.join(" ") !== eventTypes().filter((t) => webhook.event_types.includes(t)).join(" "))) body.event_types = types;
    if (organization && organization.value.trim() && organization.value.trim() !== state.session.token.organization_id) {
      body.organization_id = organization.value.trim();
    }
    try {
      if (!webhook) {
        const created = await api("POST", "/v1/webhooks", body);
        secretPage("Endpoint added", created.webhook, created.secret, { href: `#/webhooks/${created.webhook.id}`, label: "I have stored it — show the endpoint" });
        return;
      }
      if (!Object.keys(body).length) {
        showAlert("Nothing to change.", [], "info");
        return;
      }
      await api("PATCH", `/v1/webhooks/${encodeURIComponent(webhook.id)}`, body, etag);
      state.flash = ["The endpoint was saved.", "info"];
      navigate(`#/webhooks/${webhook.id}`);
    } catch (error) {
      if (error instanceof ApiError && error.status === 412) {
        await webhookPage(webhook.id);
        showAlert(...conflictInWords("endpoint"));
      } else await failed(error);
    }
  });
  render(webhook ? "Edit the endpoint" : "Add a webhook endpoint", form);
}

async function webhookPage(id) {
  const path = `/v1/webhooks/${encodeURIComponent(id)}`;
  const read = await readFor("Webhook endpoint", () => Promise.all([request("GET", path), api("GET", `${path}/deliveries?limit=50`)]));
  if (!read) return;
  const [{ data: webhook, etag }, deliveries] = read;
  const details = h(
    "dl",
    { class: "fields", id: "webhook-fields" },
    field("Status", enabledBadge(webhook)),
    webhook.disabled_reason ? field("Why disabled", webhook.disabled_reason) : null,
    field("URL", h("span", { class: "mono" }, webhook.url)),
    field("Events", eventTypesOf(webhook)),
    field("Description", webhook.description),
    field("Organization", webhook.organization_id),
    field("ID", h("span", { class: "mono" }, webhook.id)),
    field("Created", when(webhook.created_at)),
    field("Modified", when(webhook.modified_at)),
    field("Version", String(webhook.version)),
  );
  const actions = h("div", { class: "actions", id: "webhook-actions" });
  const act = (label, run, danger = false) => h("button", { type: "button", class: danger ? "danger" : "secondary", onclick: run }, label);
  const change = async (method, url, body, ifMatch) => {
    try {
      await api(method, url, body, ifMatch);
      await webhookPage(id);
    } catch (error) {
      if (error instanceof ApiError && error.problem.type && [404, 409, 412].includes(error.status)) {
        await webhookPage(id);
        if (error.status === 412) showAlert(...conflictInWords("endpoint"));
        else showAlert(error.message, error.fieldErrors);
      } else await failed(error);
    }
  };
  if (grants("webhooks:write")) {
    actions.append(act("Edit", () => webhookForm(webhook, etag)));
    if (webhook.enabled) {
      actions.append(act("Disable", async () => {
        if (await confirmAction("Disable this endpoint?", "It receives nothing until it is enabled again.", [], "Disable")) await change("PATCH", path, { enabled: false }, etag);
      }));
    } else {
      actions.append(act("Enable", () => change("PATCH", path, { enabled: true }, etag)));
    }
    actions.append(act("Rotate secret", async () => {
      const grace = h("input", { type: "number", id: "grace", min: "0", max: "604800", value: "86400" });
      const fields = [h("label", { for: "grace" }, "Grace period (seconds): deliveries are signed with both secrets"), grace];
      if (!(await confirmAction("Rotate the signing secret?", "A new secret is shown once.", fields, "Rotate"))) return;
      try {
        const rotated = await api("POST", `${path}/rotate-secret`, { grace_period_seconds: Number(grace.value || 0) });
        secretPage("Signing secret rotated", rotated.webhook, rotated.secret, { href: `#/webhooks/${id}`, label: "I have stored it — show the endpoint" });
      } catch (error) {
        await failed(error);
      }
    }));
    actions.append(act("Delete", async () => {
      if (!(await confirmAction("Delete this endpoint?", `${webhook.url} receives nothing more; its delivery log goes with it.`, [], "Delete", true))) return;
      try {
        await api("DELETE", path);
        state.flash = ["The endpoint was deleted.", "info"];
        navigate("#/webhooks");
      } catch (error) {
        await failed(error);
      }
    }, true));
  }
  const note = grants("webhooks:write") ? null : h("p", { class: "hint", id: "webhook-actions-why" }, "Your token lacks the webhooks:write scope: it can read this endpoint, not change it.");
  render("Webhook endpoint", details, actions, note, h("h2", { id: "deliveries-heading" }, "Delivery log"), deliveriesTable(deliveries.items));
}

function deliveriesTable(items) {
  if (!items.length) return h("p", { class: "muted", id: "no-deliveries" }, "No deliveries yet.");
  const outcome = (d) => h("span", { class: `badge ${d.outcome === "delivered" ? "active" : d.outcome === "retrying" ? "disabled" : "revoked"}` }, d.outcome);
  return h(
    "table",
    { class: "cards", id: "deliveries" },
    h("thead", {}, h("tr", {}, ["When", "Event", "Attempt", "Answer", "Outcome", "Next retry"].map((c) => h("th", { scope: "col" }, c)))),
    h(
      "tbody",
      {},
      items.map((d) =>
        h(
          "tr",
          {},
          h("td", { "data-label": "When", class: "when" }, when(d.attempted_at)),
          h("td", { "data-label": "Event" }, h("span", { class: "mono" }, d.event_type)),
          h("td", { "data-label": "Attempt" }, String(d.attempt)),
          h("td", { "data-label": "Answer" }, `${d.status_code ?? "no answer"} in ${d.latency_ms} ms${d.error ? ` — ${d.error}` : ""}`),
          h("td", { "data-label": "Outcome" }, outcome(d)),
          h("td", { "data-label": "Next retry" }, when(d.next_retry_at)),
        ),
      ),
    ),
  );
}

// --- routing ---------------------------------------------------------------------------------------

function navigate(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

async function route() {
  const [path, query] = (location.hash.slice(1) || "/tokens").split("?");
  const params = new URLSearchParams(query || "");
  if (!state.session && path !== "/sign-in") {
    if (!(await loadSession())) {
      signInPage();
      return;
    }
  }
  if (path === "/sign-in") {
    if (state.session) navigate("#/tokens");
    else signInPage();
  } else if (path === "/create") {
    createPage();
  } else if (path.startsWith("/tokens/")) {
    await tokenPage(decodeURIComponent(path.slice("/tokens/".length)));
  } else if (path === "/organization") {
    await organizationPage((isAdmin() && params.get("id")) || signedIn().organization_id);
  } else if (path === "/webhooks") {
    await webhooksPage(params);
  } else if (path === "/webhooks/new") {
    webhookForm(null, null);
  } else if (path.startsWith("/webhooks/")) {
    await webhookPage(decodeURIComponent(path.slice("/webhooks/".length)));
  } else {
    await tokensPage(params);
  }
}

async function signOut() {
  try {
    await api("DELETE", "/v1/sessions/current");
  } catch {
    // an ended session cannot be ended twice: sign the page out all the same
  }
  state.session = null;
  state.cursors = [];
  updateHeader();
  state.flash = ["You are signed out.", "info"];
  navigate("#/sign-in");
}

document.getElementById("sign-out").addEventListener("click", signOut);
window.addEventListener("hashchange", route);
route();
