//! The OpenAPI 3.1 document served at `/api/openapi.json`, written by hand. A test checks that
//! it describes exactly the routes of [`super::route_table`].

use serde_json::{Map, Value, json};

use super::ceremony::ROOT_CN;

fn schema(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn list_of(key: &str, item: &str) -> Value {
    json!({ "type": "object", "required": [key], "properties": { key: { "type": "array", "items": schema(item) } } })
}

fn json_content(s: &Value) -> Value {
    json!({ "application/json": { "schema": s } })
}

/// One operation.
struct Op {
    id: &'static str,
    tag: &'static str,
    summary: &'static str,
    auth: bool,
    id_param: bool,
    body: Option<Value>,
    ok: (&'static str, &'static str, Option<Value>),
    errors: &'static [&'static str],
}

impl Op {
    fn into_json(self) -> Value {
        let mut op = Map::new();
        op.insert("operationId".into(), json!(self.id));
        op.insert("tags".into(), json!([self.tag]));
        op.insert("summary".into(), json!(self.summary));
        let security = match (self.auth, self.id) {
            (true, _) => json!([{ "bearer": [] }]),
            // The admin token, unless signup is open.
            (false, "createAccount") => json!([{ "bearer": [] }, {}]),
            (false, _) => json!([]),
        };
        op.insert("security".into(), security);
        if self.id_param {
            op.insert(
                "parameters".into(),
                json!([{ "name": "id", "in": "path", "required": true, "schema": { "type": "integer", "format": "int64" } }]),
            );
        }
        let has_body = self.body.is_some();
        if let Some(body) = self.body {
            op.insert("requestBody".into(), json!({ "required": true, "content": json_content(&body) }));
        }
        let mut responses = Map::new();
        let (status, description, content) = self.ok;
        let mut ok = json!({ "description": description });
        if let Some(content) = content {
            ok["content"] = content;
        }
        responses.insert(status.into(), ok);
        let mut errors: Vec<&str> = self.errors.to_vec();
        if self.auth {
            errors.push("401");
        }
        if has_body || self.id_param {
            errors.push("400");
        }
        errors.push("500");
        for e in errors {
            responses.insert(e.into(), json!({ "$ref": format!("#/components/responses/E{e}") }));
        }
        op.insert("responses".into(), Value::Object(responses));
        Value::Object(op)
    }
}

fn ok_json(s: Value) -> Option<Value> {
    Some(json_content(&s))
}

fn operations() -> Vec<(&'static str, &'static str, Op)> {
    let pem = Some(json!({ "application/x-pem-file": { "schema": { "type": "string" } } }));
    vec![
        (
            "/api/accounts",
            "post",
            Op {
                id: "createAccount",
                tag: "accounts",
                summary: "Create an account and its first API token. Needs the admin token (MAILRELAY_ADMIN_TOKEN) unless the relay runs with MAILRELAY_OPEN_SIGNUP; closed otherwise.",
                auth: false,
                id_param: false,
                body: Some(schema("NewAccount")),
                ok: ("201", "The account and its first token (shown once).", ok_json(schema("CreatedAccount"))),
                errors: &["401"],
            },
        ),
        (
            "/api/account",
            "get",
            Op {
                id: "getAccount",
                tag: "accounts",
                summary: "The caller's account.",
                auth: true,
                id_param: false,
                body: None,
                ok: ("200", "The account.", ok_json(schema("Account"))),
                errors: &[],
            },
        ),
        (
            "/api/account",
            "patch",
            Op {
                id: "patchAccount",
                tag: "accounts",
                summary: "Change account settings (strict mode: refuse mail while no S/MIME profile is active).",
                auth: true,
                id_param: false,
                body: Some(
                    json!({ "type": "object", "properties": { "strict": { "type": "boolean" } }, "additionalProperties": false }),
                ),
                ok: ("200", "The account.", ok_json(schema("Account"))),
                errors: &[],
            },
        ),
        (
            "/api/tokens",
            "post",
            Op {
                id: "createToken",
                tag: "tokens",
                summary: "Create an API token for the caller's account.",
                auth: true,
                id_param: false,
                body: Some(
                    json!({ "type": "object", "properties": { "name": { "type": "string", "maxLength": 100 } }, "additionalProperties": false }),
                ),
                ok: ("201", "The token (shown once).", ok_json(schema("NewToken"))),
                errors: &[],
            },
        ),
        (
            "/api/tokens",
            "get",
            Op {
                id: "listTokens",
                tag: "tokens",
                summary: "The account's API tokens (without the secrets).",
                auth: true,
                id_param: false,
                body: None,
                ok: ("200", "Tokens, oldest first.", ok_json(list_of("tokens", "TokenInfo"))),
                errors: &[],
            },
        ),
        (
            "/api/tokens/{id}",
            "delete",
            Op {
                id: "deleteToken",
                tag: "tokens",
                summary: "Revoke a token.",
                auth: true,
                id_param: true,
                body: None,
                ok: ("204", "Revoked.", None),
                errors: &["404"],
            },
        ),
        (
            "/api/mailboxes",
            "post",
            Op {
                id: "addMailbox",
                tag: "mailboxes",
                summary: "Add a mailbox; a verification code is mailed to it through the next hop.",
                auth: true,
                id_param: false,
                body: Some(
                    json!({ "type": "object", "required": ["address"], "properties": { "address": { "type": "string", "format": "email" } }, "additionalProperties": false }),
                ),
                ok: (
                    "201",
                    "The unverified mailbox; verification_sent says whether the next hop took the code.",
                    ok_json(schema("MailboxSent")),
                ),
                errors: &["409", "422"],
            },
        ),
        (
            "/api/mailboxes",
            "get",
            Op {
                id: "listMailboxes",
                tag: "mailboxes",
                summary: "The account's mailboxes.",
                auth: true,
                id_param: false,
                body: None,
                ok: ("200", "Mailboxes.", ok_json(list_of("mailboxes", "Mailbox"))),
                errors: &[],
            },
        ),
        (
            "/api/mailboxes/{id}/confirm",
            "post",
            Op {
                id: "confirmMailbox",
                tag: "mailboxes",
                summary: "Verify a mailbox with the code mailed to it (case, dashes and spaces ignored; five wrong codes spend it).",
                auth: true,
                id_param: true,
                body: Some(
                    json!({ "type": "object", "required": ["code"], "properties": { "code": { "type": "string" } }, "additionalProperties": false }),
                ),
                ok: ("200", "The verified mailbox.", ok_json(schema("Mailbox"))),
                errors: &["404"],
            },
        ),
        (
            "/api/mailboxes/{id}/resend",
            "post",
            Op {
                id: "resendCode",
                tag: "mailboxes",
                summary: "Mail a new verification code; the previous one stops working.",
                auth: true,
                id_param: true,
                body: None,
                ok: ("200", "The mailbox; verification_sent as for addMailbox.", ok_json(schema("MailboxSent"))),
                errors: &["404", "409"],
            },
        ),
        (
            "/api/mailboxes/{id}/app-passwords",
            "post",
            Op {
                id: "createAppPassword",
                tag: "mailboxes",
                summary: "Make an app password for a verified mailbox, for SMTP AUTH on the submission listener; shown once, kept as an argon2id hash.",
                auth: true,
                id_param: true,
                body: Some(
                    json!({ "type": "object", "required": ["name"], "properties": { "name": { "type": "string" } }, "additionalProperties": false }),
                ),
                ok: (
                    "201",
                    "The app password, with the user name and the password (shown once).",
                    ok_json(schema("NewAppPassword")),
                ),
                errors: &["400", "404", "409"],
            },
        ),
        (
            "/api/mailboxes/{id}/app-passwords",
            "get",
            Op {
                id: "listAppPasswords",
                tag: "mailboxes",
                summary: "The mailbox's app passwords (ids and names).",
                auth: true,
                id_param: true,
                body: None,
                ok: ("200", "App passwords.", ok_json(list_of("app_passwords", "AppPassword"))),
                errors: &["404"],
            },
        ),
        (
            "/api/app-passwords/{id}",
            "delete",
            Op {
                id: "deleteAppPassword",
                tag: "mailboxes",
                summary: "Revoke an app password.",
                auth: true,
                id_param: true,
                body: None,
                ok: ("204", "Revoked.", None),
                errors: &["404"],
            },
        ),
        (
            "/api/aliases",
            "post",
            Op {
                id: "createAlias",
                tag: "aliases",
                summary: "Create an alias: random, or custom with a prefix (and a random suffix unless the relay allows bare names and suffix is false). The mailbox must be verified.",
                auth: true,
                id_param: false,
                body: Some(schema("NewAlias")),
                ok: ("201", "The alias.", ok_json(schema("Alias"))),
                errors: &["404", "409", "422"],
            },
        ),
        (
            "/api/aliases",
            "get",
            Op {
                id: "listAliases",
                tag: "aliases",
                summary: "The account's aliases.",
                auth: true,
                id_param: false,
                body: None,
                ok: ("200", "Aliases, oldest first.", ok_json(list_of("aliases", "Alias"))),
                errors: &[],
            },
        ),
        (
            "/api/aliases/{id}",
            "patch",
            Op {
                id: "patchAlias",
                tag: "aliases",
                summary: "Enable or disable an alias, and choose what happens to its mail while disabled.",
                auth: true,
                id_param: true,
                body: Some(
                    json!({ "type": "object", "properties": { "enabled": { "type": "boolean" }, "when_disabled": schema("Disposition") }, "additionalProperties": false }),
                ),
                ok: ("200", "The alias.", ok_json(schema("Alias"))),
                errors: &["404"],
            },
        ),
        (
            "/api/aliases/{id}",
            "delete",
            Op {
                id: "deleteAlias",
                tag: "aliases",
                summary: "Delete an alias with its contacts.",
                auth: true,
                id_param: true,
                body: None,
                ok: ("204", "Deleted.", None),
                errors: &["404"],
            },
        ),
        (
            "/api/aliases/{id}/contacts",
            "get",
            Op {
                id: "listContacts",
                tag: "contacts",
                summary: "The contacts of an alias.",
                auth: true,
                id_param: true,
                body: None,
                ok: ("200", "Contacts, oldest first.", ok_json(list_of("contacts", "Contact"))),
                errors: &["404"],
            },
        ),
        (
            "/api/aliases/{id}/contacts",
            "post",
            Op {
                id: "createContact",
                tag: "contacts",
                summary: "Start a new thread: the contact for an external address, with the reverse alias to write to.",
                auth: true,
                id_param: true,
                body: Some(
                    json!({ "type": "object", "required": ["address"], "properties": { "address": { "type": "string", "format": "email" }, "display_name": { "type": "string" } }, "additionalProperties": false }),
                ),
                ok: ("201", "The new contact (200 if it existed).", ok_json(schema("Contact"))),
                errors: &["404", "422"],
            },
        ),
        (
            "/api/contacts/{id}",
            "patch",
            Op {
                id: "patchContact",
                tag: "contacts",
                summary: "Block a contact (drop or reject its mail) or unblock it (null).",
                auth: true,
                id_param: true,
                body: Some(
                    json!({ "type": "object", "required": ["blocked"], "properties": { "blocked": { "oneOf": [schema("Disposition"), { "type": "null" }] } }, "additionalProperties": false }),
                ),
                ok: ("204", "Changed.", None),
                errors: &["404"],
            },
        ),
        (
            "/api/profiles",
            "post",
            Op {
                id: "beginCeremony",
                tag: "profiles",
                summary: "Ceremony step 1: the end-entity CSR and the root's public key in; the end-entity certificate and the intermediate's to-be-signed bytes out.",
                auth: true,
                id_param: false,
                body: Some(schema("BeginCeremony")),
                ok: ("201", "The pending profile.", ok_json(schema("CeremonyStarted"))),
                errors: &["422"],
            },
        ),
        (
            "/api/profiles",
            "get",
            Op {
                id: "listProfiles",
                tag: "profiles",
                summary: "The account's S/MIME profiles, newest first.",
                auth: true,
                id_param: false,
                body: None,
                ok: ("200", "Profiles.", ok_json(list_of("profiles", "Profile"))),
                errors: &[],
            },
        ),
        (
            "/api/profiles/{id}/complete",
            "post",
            Op {
                id: "completeCeremony",
                tag: "profiles",
                summary: "Ceremony step 3: the self-signed root and the intermediate it signed (or the signature over the TBS bytes). The chain is verified, then the profile is activated.",
                auth: true,
                id_param: true,
                body: Some(schema("CompleteCeremony")),
                ok: ("200", "The active profile.", ok_json(schema("Profile"))),
                errors: &["404", "409"],
            },
        ),
        (
            "/api/profiles/{id}/retire",
            "post",
            Op {
                id: "retireProfile",
                tag: "profiles",
                summary: "Retire a profile (its recipient certificates still decrypt old replies).",
                auth: true,
                id_param: true,
                body: None,
                ok: ("200", "The retired profile.", ok_json(schema("Profile"))),
                errors: &["404"],
            },
        ),
        (
            "/api/profiles/{id}/root.pem",
            "get",
            Op {
                id: "downloadRoot",
                tag: "downloads",
                summary: "The profile's root certificate, to trust for email.",
                auth: true,
                id_param: true,
                body: None,
                ok: ("200", "PEM.", pem.clone()),
                errors: &["404"],
            },
        ),
        (
            "/api/profiles/{id}/chain.pem",
            "get",
            Op {
                id: "downloadChain",
                tag: "downloads",
                summary: "End-entity, intermediate and root certificates.",
                auth: true,
                id_param: true,
                body: None,
                ok: ("200", "PEM.", pem),
                errors: &["404"],
            },
        ),
        (
            "/api/profiles/{id}/crl",
            "get",
            Op {
                id: "downloadCrl",
                tag: "downloads",
                summary: "A CRL signed by the profile's intermediate, current for a week.",
                auth: true,
                id_param: true,
                body: None,
                ok: (
                    "200",
                    "DER.",
                    Some(
                        json!({ "application/pkix-crl": { "schema": { "type": "string", "contentEncoding": "binary" } } }),
                    ),
                ),
                errors: &["404"],
            },
        ),
        (
            "/api/events",
            "get",
            Op {
                id: "listEvents",
                tag: "downloads",
                summary: "The issuance log: recipient certificates issued, replies refused.",
                auth: true,
                id_param: false,
                body: None,
                ok: ("200", "Events, oldest first.", ok_json(list_of("events", "Event"))),
                errors: &[],
            },
        ),
        (
            "/healthz",
            "get",
            Op {
                id: "health",
                tag: "operations",
                summary: "Whether the database answers.",
                auth: false,
                id_param: false,
                body: None,
                ok: (
                    "200",
                    "Healthy.",
                    ok_json(
                        json!({ "type": "object", "properties": { "status": { "const": "ok" }, "database": { "type": "string" } } }),
                    ),
                ),
                errors: &["503"],
            },
        ),
        (
            "/metrics",
            "get",
            Op {
                id: "metrics",
                tag: "operations",
                summary: "Prometheus metrics: requests by route and status, build info, key pool.",
                auth: false,
                id_param: false,
                body: None,
                ok: (
                    "200",
                    "Prometheus text format 0.0.4.",
                    Some(json!({ "text/plain": { "schema": { "type": "string" } } })),
                ),
                errors: &[],
            },
        ),
        (
            "/api/openapi.json",
            "get",
            Op {
                id: "openapi",
                tag: "operations",
                summary: "This document.",
                auth: false,
                id_param: false,
                body: None,
                ok: ("200", "OpenAPI 3.1.", ok_json(json!({ "type": "object" }))),
                errors: &[],
            },
        ),
    ]
}

fn schemas() -> Value {
    let id = json!({ "type": "integer", "format": "int64" });
    let time = json!({ "type": "integer", "description": "Unix seconds" });
    json!({
        "Error": { "type": "object", "required": ["error"], "properties": { "error": { "type": "object", "required": ["code", "message"], "properties": {
            "code": { "type": "string", "enum": ["unauthorized", "not_found", "method_not_allowed", "conflict", "invalid_address", "invalid_request", "internal"] },
            "message": { "type": "string" } } } } },
        "Disposition": { "type": "string", "enum": ["drop", "reject"] },
        "NewAccount": { "type": "object", "properties": { "strict": { "type": "boolean" }, "token_name": { "type": "string" } }, "additionalProperties": false },
        "Account": { "type": "object", "required": ["id", "strict"], "properties": { "id": id, "strict": { "type": "boolean" } } },
        "NewToken": { "type": "object", "required": ["id", "name", "token"], "properties": { "id": id, "name": { "type": "string" }, "token": { "type": "string", "description": "mrt_ and 64 hex digits; shown once" } } },
        "CreatedAccount": { "type": "object", "required": ["account", "token"], "properties": { "account": schema("Account"), "token": schema("NewToken") } },
        "TokenInfo": { "type": "object", "required": ["id", "name", "created_at"], "properties": { "id": id, "name": { "type": "string" }, "created_at": time, "last_used_at": { "type": ["integer", "null"] } } },
        "AppPassword": { "type": "object", "required": ["id", "mailbox_id", "name"], "properties": { "id": id, "mailbox_id": id, "name": { "type": "string" } } },
        "NewAppPassword": { "type": "object", "required": ["id", "mailbox_id", "name", "user", "password"], "properties": { "id": id, "mailbox_id": id, "name": { "type": "string" }, "user": { "type": "string" }, "password": { "type": "string" } } },
        "Mailbox": { "type": "object", "required": ["id", "address", "verified"], "properties": { "id": id, "address": { "type": "string" }, "verified": { "type": "boolean" } } },
        "MailboxSent": { "allOf": [schema("Mailbox"), { "type": "object", "required": ["verification_sent"], "properties": { "verification_sent": { "type": "boolean" } } }] },
        "NewAlias": { "type": "object", "properties": { "mailbox_id": id, "prefix": { "type": "string", "maxLength": 40 }, "suffix": { "type": "boolean", "default": true } }, "additionalProperties": false },
        "Alias": { "type": "object", "required": ["id", "address", "mailbox_id", "enabled", "when_disabled"], "properties": { "id": id, "address": { "type": "string" }, "mailbox_id": id, "enabled": { "type": "boolean" }, "when_disabled": schema("Disposition") } },
        "Contact": { "type": "object", "required": ["id", "alias_id", "address", "reverse_alias"], "properties": { "id": id, "alias_id": id, "address": { "type": "string" }, "display_name": { "type": ["string", "null"] }, "reverse_alias": { "type": "string" }, "blocked": { "oneOf": [schema("Disposition"), { "type": "null" }] } } },
        "Profile": { "type": "object", "required": ["id", "status"], "properties": { "id": id, "status": { "type": "string", "enum": ["pending", "active", "retired"] }, "subject": { "type": ["string", "null"] }, "serial": { "type": ["string", "null"] }, "not_before": time, "not_after": time, "has_root": { "type": "boolean" } } },
        "BeginCeremony": { "type": "object", "required": ["csr", "root_public_key"], "properties": {
            "csr": { "type": "string", "description": "PKCS#10, PEM or base64 DER; every address it asks for must be a verified mailbox" },
            "root_public_key": { "type": "string", "description": "The root's SubjectPublicKeyInfo, PEM or base64 DER (never the private key)" },
            "key_algorithm": { "type": "string", "enum": ["rsa2048", "rsa3072", "p256"], "default": "rsa2048" } }, "additionalProperties": false },
        "CeremonyStarted": { "type": "object", "required": ["profile", "end_entity", "intermediate_tbs", "root_subject"], "properties": {
            "profile": schema("Profile"), "end_entity": { "type": "string", "description": "PEM" },
            "intermediate_tbs": { "type": "string", "contentEncoding": "base64", "description": "DER TBSCertificate for the root key to sign (SHA-256)" },
            "root_subject": { "const": format!("CN={ROOT_CN}") } } },
        "CompleteCeremony": { "type": "object", "required": ["root"], "properties": {
            "root": { "type": "string", "description": "Self-signed root, PEM or base64 DER" },
            "intermediate": { "type": "string", "description": "The signed intermediate, PEM or base64 DER" },
            "intermediate_signature": { "type": "string", "contentEncoding": "base64", "description": "Or: the root's signature over intermediate_tbs (DER, or raw r||s for ECDSA)" } }, "additionalProperties": false },
        "Event": { "type": "object", "required": ["kind", "at"], "properties": { "kind": { "type": "string", "enum": ["issued", "unauthorized_reply"] },
            "profile_id": id, "contact_id": id, "serial": { "type": "string" }, "subject": { "type": "string" }, "sender": { "type": "string" }, "at": time } },
    })
}

fn error_responses() -> Value {
    let mut out = Map::new();
    for (status, description) in [
        ("400", "invalid_request: malformed JSON, a missing or unknown field, a bad value"),
        ("401", "unauthorized: no valid bearer token"),
        ("404", "not_found: no such resource in this account (another account's is not found either)"),
        ("409", "conflict: the address is taken, or the resource is not in a state that allows this"),
        ("422", "invalid_address: an address or alias prefix that cannot be used"),
        ("500", "internal: the body is always {\"error\":{\"code\":\"internal\",\"message\":\"internal error\"}}"),
        ("503", "internal: the database is unavailable (same body as 500)"),
    ] {
        out.insert(
            format!("E{status}"),
            json!({ "description": description, "content": json_content(&schema("Error")) }),
        );
    }
    Value::Object(out)
}

/// The document.
pub(super) fn document() -> Value {
    let mut paths = Map::new();
    for (path, method, op) in operations() {
        let entry = paths.entry(path.to_owned()).or_insert_with(|| json!({}));
        entry[method] = op.into_json();
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "mailrelay API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "A privacy mail relay: aliases, contacts, and the S/MIME hybrid CA. Errors are {\"error\":{\"code\",\"message\"}} with a stable code. Every resource belongs to one account; another account's resource answers 404.",
        },
        "servers": [{ "url": "/" }],
        "paths": Value::Object(paths),
        "components": {
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer", "description": "An API token (mrt_…), or for POST /api/accounts the admin token." } },
            "schemas": schemas(),
            "responses": error_responses(),
        },
    })
}
