// The organization's policy page (#/organization, tokens:manage; an admin may add ?id=<organization>):
// GET, PUT and POST .../preview of /v1/organizations/{id}/policy. Every field of the policy is shown and
// edited; "Preview" lists, a page at a time, the live tokens the edited policy would find non-compliant
// and why; "Save policy" PUTs it (with If-Match, so a change made meanwhile is never overwritten: 412,
// in words) and, when chosen, `enforce` disables or revokes those tokens. A worker copies the policy
// onto the tokens and applies `enforce` after the PUT answers: "On every token" and "Enforcement" say
// how far it got.

import { ApiError, conflictInWords, failed, field, h, readFor, render, request, showAlert, when } from "./console.js";

const REASONS = {
  lifetime: "expires too late, or never (lifetime)",
  allowlist: "used from outside the allowed networks (allowlist)",
  inactivity: "unused for longer than the inactivity limit (inactivity)",
};

export async function organizationPage(organizationId) {
  const path = `/v1/organizations/${encodeURIComponent(organizationId)}/policy`;
  const title = `Organization ${organizationId}`;
  const read = await readFor(title, () => request("GET", path));
  if (!read) return;
  const { data: policy, etag } = read;
  const numberText = (value) => (value === null || value === undefined ? "" : String(value));
  const inputs = {
    cidrs: h("textarea", { id: "org-cidrs", rows: "4", class: "mono", "aria-describedby": "org-cidrs-hint" }, policy.allowed_cidrs.join("\n")),
    lifetime: h("input", { id: "org-lifetime", type: "number", min: "1", inputmode: "numeric", value: numberText(policy.max_lifetime_days) }),
    requireExpiry: h("input", { id: "org-require-expiry", type: "checkbox", checked: policy.require_expiry }),
    onNewLocation: h("select", { id: "org-new-location" }, ["notify", "disable"].map((v) => h("option", { value: v, selected: v === policy.on_new_location }, v))),
    inactivity: h("input", { id: "org-inactivity", type: "number", min: "1", inputmode: "numeric", value: numberText(policy.inactivity_days) }),
    notices: h("input", { id: "org-notices", type: "text", class: "mono", value: policy.inactivity_notice_days.join(", ") }),
    enforce: h("select", { id: "org-enforce" }, h("option", { value: "none" }, "leave them as they are"), h("option", { value: "disable" }, "disable them"), h("option", { value: "revoke" }, "revoke them (reason policy)")),
  };
  const labelled = (id, label, input, hint) => h("div", {}, h("label", { for: id }, label), input, hint ? h("p", { class: "hint" }, hint) : null);
  const previewPanel = h("section", { class: "panel", id: "org-preview", "aria-live": "polite", hidden: true });
  const form = h(
    "form",
    { class: "stack", id: "org-policy-form", onsubmit: save },
    h("div", {}, h("label", { for: "org-cidrs" }, "Allowed from (CIDRs)"), inputs.cidrs),
    h("p", { class: "hint", id: "org-cidrs-hint" }, "One a line; empty: anywhere. Every token of the organization must also be presented from one of them; a token's own list can only narrow this one."),
    labelled("org-lifetime", "Maximum lifetime (days)", inputs.lifetime, "Empty: the deployment's limit only. New tokens, and new expiries, may be at most this far ahead."),
    h("div", { class: "checks" }, h("label", { for: "org-require-expiry" }, inputs.requireExpiry, h("span", {}, "Every token must have an expiry"))),
    labelled("org-new-location", "First use from a new network", inputs.onNewLocation, "notify: a token.new_location event; disable: the token is disabled too."),
    labelled("org-inactivity", "Revoke after days unused", inputs.inactivity, "Empty: never."),
    labelled("org-notices", "Notices before that (days)", inputs.notices, "Comma-separated, e.g. 14, 3: token.inactive_soon events."),
    labelled("org-enforce", "Live tokens that would not comply", inputs.enforce, "Preview them first; disabling or revoking is done by a worker, page by page, each with its own audit event."),
    h("div", { class: "actions" }, h("button", { type: "button", id: "org-preview-button", onclick: () => preview(null) }, "Preview"), h("button", { type: "submit" }, "Save policy")),
  );
  const enforcement = policy.enforcement;
  render(
    title,
    h(
      "section",
      { class: "panel", id: "org-policy", "aria-labelledby": "org-policy-heading" },
      h("h2", { id: "org-policy-heading" }, "Policy"),
      h(
        "dl",
        { class: "fields" },
        field("Allowed from", h("span", { id: "org-policy-cidrs" }, policy.allowed_cidrs.length ? policy.allowed_cidrs.join(", ") : "anywhere")),
        field("Maximum lifetime", policy.max_lifetime_days ? `${policy.max_lifetime_days} days` : "the deployment's"),
        field("Expiry required", policy.require_expiry ? "yes" : "no"),
        field("New network", policy.on_new_location),
        field("Inactivity", policy.inactivity_days ? `revoked after ${policy.inactivity_days} days unused` : "never revoked"),
        field("Notices", policy.inactivity_notice_days.length ? `${policy.inactivity_notice_days.join(", ")} days before` : null),
        field("Modified", policy.modified_at ? when(policy.modified_at) : null),
        field("Version", String(policy.version)),
        field("On every token", h("span", { id: "org-policy-propagated" }, policy.propagated ? "yes" : "being copied (reload to follow; tokens keep the previous policy until then)")),
        enforcement
          ? field(
              "Enforcement",
              h("span", { id: "org-policy-enforcement" }, `${enforcement.action}: ${enforcement.examined} tokens examined, ${enforcement.disabled} disabled, ${enforcement.revoked} revoked${enforcement.skipped ? `, ${enforcement.skipped} skipped (stronger than you)` : ""}${enforcement.done ? ", done" : " so far (reload to follow)"}`),
            )
          : null,
      ),
    ),
    form,
    previewPanel,
  );

  function candidate() {
    const days = (input) => (input.value.trim() === "" ? null : Number(input.value));
    return {
      allowed_cidrs: inputs.cidrs.value.split("\n").map((line) => line.trim()).filter(Boolean),
      max_lifetime_days: days(inputs.lifetime),
      require_expiry: inputs.requireExpiry.checked,
      on_new_location: inputs.onNewLocation.value,
      inactivity_days: days(inputs.inactivity),
      inactivity_notice_days: inputs.notices.value.split(",").map((d) => d.trim()).filter(Boolean).map(Number),
    };
  }

  // One page of the preview (each reads at most 100 tokens): "More" asks for the next one.
  async function preview(cursor) {
    const query = cursor ? `?cursor=${encodeURIComponent(cursor)}` : "";
    try {
      const { data } = await request("POST", `${path}/preview${query}`, candidate());
      if (!cursor) {
        previewPanel.replaceChildren(h("h2", {}, "Would not comply"), h("p", { id: "org-preview-summary" }), h("ul", { id: "org-preview-list" }));
        previewPanel.dataset.found = "0";
        previewPanel.dataset.examined = "0";
      }
      previewPanel.hidden = false;
      const list = previewPanel.querySelector("#org-preview-list");
      for (const token of data.tokens) {
        const owner = token.owner ? ` (${token.owner})` : "";
        list.append(h("li", {}, h("a", { href: `#/tokens/${token.token_id}` }, token.name), `${owner}, ${token.status}: `, token.reasons.map((r) => REASONS[r] || r).join("; ")));
      }
      const found = Number(previewPanel.dataset.found) + data.tokens.length;
      const examined = Number(previewPanel.dataset.examined) + data.examined;
      previewPanel.dataset.found = String(found);
      previewPanel.dataset.examined = String(examined);
      const more = data.next_cursor ? " so far; more tokens to examine" : "";
      previewPanel.querySelector("#org-preview-summary").textContent = `These ${found} live tokens would not comply (${examined} tokens examined${more}).`;
      previewPanel.querySelector("#org-preview-more")?.remove();
      if (data.next_cursor) previewPanel.append(h("button", { type: "button", id: "org-preview-more", onclick: () => preview(data.next_cursor) }, "More"));
    } catch (error) {
      if (error instanceof ApiError && error.problem.type && [403, 404, 422].includes(error.status)) showAlert(error.message, error.fieldErrors);
      else await failed(error);
    }
  }

  async function save(event) {
    event.preventDefault();
    const body = candidate();
    const enforce = inputs.enforce.value;
    const unchanged = Object.keys(body).every((name) => JSON.stringify(body[name]) === JSON.stringify(policy[name]));
    if (unchanged && enforce === "none") {
      showAlert("Nothing to change.", [], "info");
      return;
    }
    try {
      await request("PUT", path, { ...body, enforce }, etag);
      await organizationPage(organizationId);
    } catch (error) {
      if (error instanceof ApiError && error.problem.type && [403, 404, 412, 422].includes(error.status)) {
        await organizationPage(organizationId);
        if (error.status === 412) showAlert(...conflictInWords("policy"));
        else showAlert(error.message, error.fieldErrors);
      } else await failed(error);
    }
  }
}
