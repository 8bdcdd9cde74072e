// Tokensmith console: a small single-page app over the token API, same origin, no build step.
// Signs in with POST /v1/sessions (the session cookie is HttpOnly: this script never sees it) and
// sends the session's CSRF token as `Authorization: Session <csrf token>` with every request, beside
// the cookie (the API's authorizer needs both; API Gateway answers 401 without the header). A reloaded
// page learns its CSRF token again from GET /v1/sessions/current, the one route that reads the cookie
// alone. Pages are hash routes: #/sign-in, #/tokens, #/create, #/tokens/<id>. Every text from the API
// goes into the page as text (textContent), never as HTML.

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
const PAGE_SIZE = 20;

const state = {
  session: null, // the answer of POST /v1/sessions or GET /v1/sessions/current
  cursors: [], // the cursors of the pages before the current one (for "Previous page")
  flash: null, // a message for the next page rendered: [text, kind]
};

// --- DOM helpers ---------------------------------------------------------------------------------

function h(tag, attributes = {}, ...children) {
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

function render(title, ...children) {
  clearAlert();
  if (state.flash) {
    showAlert(state.flash[0], [], state.flash[1]);
    state.flash = null;
  }
  const heading = h("h1", { tabindex: "-1" }, title);
  main().replaceChildren(heading, ...children);
  document.title = `${title} · Tokensmith console`;
  heading.focus();
}

function showAlert(message, details = [], kind = "error") {
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

function when(iso) {
  if (!iso) return "—";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toISOString().replace("T", " ").replace(/:\d\d\.\d+Z|:\d\dZ/, " UTC");
}

function badge(status) {
  return h("span", { class: `badge ${status}` }, status);
}

// --- the API ---------------------------------------------------------------------------------------

class ApiError extends Error {
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

async function api(method, path, body) {
  const headers = { Accept: "application/json, application/problem+json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (state.session) headers.Authorization = `Session ${state.session.csrf_token}`;
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
  return data;
}

// The gateway's own 401 or 403 (no problem+json): the session has ended.
async function failed(error) {
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
  if (state.session) {
    const token = state.session.token;
    who.textContent = `${token.organization_id} · signed in as “${token.name}”${isAdmin() ? " (admin)" : ""}`;
    who.hidden = false;
    signOut.hidden = false;
  } else {
    who.hidden = true;
    signOut.hidden = true;
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

async function tokensPage(params) {
  const status = params.get("status") || "";
  const cursor = params.get("cursor") || "";
  const organization = params.get("organization_id") || "";
  const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
  if (status) query.set("status", status);
  if (cursor) query.set("cursor", cursor);
  if (organization && isAdmin()) query.set("organization_id", organization);
  let page;
  try {
    page = await api("GET", `/v1/tokens?${query}`);
  } catch (error) {
    render("Tokens");
    await failed(error);
    return;
  }
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
      h("td", { "data-label": "Expires" }, when(token.expires_at)),
      h("td", { "data-label": "Last used" }, when(token.last_used_at)),
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
function secretPage(title, token, secret) {
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
      h("label", { for: "secret", id: "secret-label" }, `Secret of “${token.name}”`),
      h("div", { class: "value" }, value, copy),
      status,
    ),
    h("div", { class: "actions" }, h("a", { class: "button", href: `#/tokens/${token.id}`, id: "done" }, "I have stored it — show the token")),
  );
  value.select();
}

// "disabled by <token id> — re-enabling needs tokens:manage": who disabled it, and what undoes it.
function disabledBy(by) {
  const needs = by.authority ? ` — re-enabling needs ${by.authority}` : " — any token that may change it can re-enable it";
  return h("span", { id: "disabled-by" }, "disabled by ", h("span", { class: "mono" }, by.token_id), needs);
}

function field(label, value) {
  return [h("dt", {}, label), h("dd", {}, value === null || value === undefined || value === "" ? "—" : value)];
}

async function tokenPage(id) {
  let token;
  let events;
  try {
    [token, events] = await Promise.all([api("GET", `/v1/tokens/${encodeURIComponent(id)}`), api("GET", `/v1/tokens/${encodeURIComponent(id)}/events?limit=50`)]);
  } catch (error) {
    render("Token");
    await failed(error);
    return;
  }
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
    field("Last used", token.last_used_at ? `${when(token.last_used_at)} from ${token.last_used_ip || "?"}` : null),
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
      actions.append(act("Edit", () => editToken(token, own, change)));
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
        const fields = [h("label", { for: "grace" }, "Grace period (seconds) for the old secret"), grace];
        if (!(await confirmAction("Rotate the secret?", "A new secret is shown once; the old one keeps working for the grace period.", fields, "Rotate"))) return;
        try {
          const rotated = await api("POST", `${path}/rotate`, { grace_period_seconds: Number(grace.value || 0) });
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
  const sections = [details, actions, note];
  if (isAdmin()) sections.push(adminPanel(token, path, own));
  sections.push(h("h2", { id: "events-heading" }, "Audit events"), eventsTable(events.items));
  render(token.name, ...sections.filter(Boolean));

  async function change(method, url, body) {
    try {
      await api(method, url, body);
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
      showAlert(error.message, error.fieldErrors);
    } else {
      await failed(error);
    }
  }
}

// Edit a token's name, description and expiry (PATCH). On the signed-in token's own page the expiry
// only moves earlier: a token never extends its own life (the API answers 403).
async function editToken(token, own, change) {
  const name = h("input", { type: "text", id: "edit-name", required: true, maxlength: "256", autocomplete: "off", value: token.name });
  const description = h("textarea", { id: "edit-description", rows: "2", maxlength: "2048" }, token.description || "");
  const tomorrow = new Date(Date.now() + 86400000).toISOString().slice(0, 10);
  const latest = own ? latestOwnExpiryDay(token) : lifetimeLimit();
  const expires = h("input", { type: "date", id: "edit-expires", min: tomorrow, max: latest, "aria-describedby": "edit-expires-hint" });
  let hint = latest ? `Empty: unchanged. Latest: ${latest}.` : "Empty: unchanged.";
  if (own && token.expires_at) {
    hint = `This is your own token: its expiry can only move earlier (latest: ${latest}). Extending it takes another token that may manage it.`;
  }
  const fields = [
    h("div", {}, h("label", { for: "edit-name" }, "Name"), name),
    h("div", {}, h("label", { for: "edit-description" }, "Description"), description),
    h(
      "div",
      {},
      h("label", { for: "edit-expires" }, "Expires on ", h("span", { class: "hint" }, "(end of day UTC)")),
      expires,
      h("p", { id: "edit-expires-hint", class: "hint" }, hint),
    ),
  ];
  if (!(await confirmAction("Edit this token", `Current expiry: ${when(token.expires_at)}.`, fields, "Save"))) return;
  const body = {};
  if (name.value !== token.name) body.name = name.value;
  if (description.value !== (token.description || "")) body.description = description.value;
  if (expires.value) body.expires_at = `${expires.value}T23:59:59Z`;
  if (!Object.keys(body).length) {
    showAlert("Nothing to change.", [], "info");
    return;
  }
  await change("PATCH", `/v1/tokens/${encodeURIComponent(token.id)}`, body);
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

function eventsTable(items) {
  if (!items.length) return h("p", { class: "muted" }, "No events.");
  const describe = (event) => {
    const parts = [];
    if (event.reason) parts.push(`reason: ${event.reason}`);
    if (event.changes && Object.keys(event.changes).length) parts.push(`changed: ${Object.keys(event.changes).join(", ")}`);
    return parts.join("; ") || "—";
  };
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
          h("td", { "data-label": "When" }, when(event.occurred_at)),
          h("td", { "data-label": "Event" }, h("span", { class: "mono" }, event.type)),
          h("td", { "data-label": "By" }, h("span", { class: "mono" }, event.actor?.token_id || "—")),
          h("td", { "data-label": "From" }, event.ip || "—"),
          h("td", { "data-label": "Details" }, describe(event)),
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
