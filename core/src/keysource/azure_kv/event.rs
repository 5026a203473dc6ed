//! Event Grid deliveries about Key Vault keys, and which `azure_kv` entries a key's new
//! version concerns. Pure (no I/O), so that every front end (the CLI's `azure-kv
//! on-rotation`, wasm) reads events and picks entries the same way.
//!
//! Two wire schemas are read:
//! - the **Event Grid schema**: a JSON array of `{id, topic, subject, eventType,
//!   eventTime, data, dataVersion, metadataVersion}`;
//! - **CloudEvents 1.0**, structured JSON: one `{specversion, id, source, subject, type,
//!   time, data}` object (`application/cloudevents+json`) or an array of them
//!   (`application/cloudevents-batch+json`).
//!
//! Key Vault's `data` is `{Id, VaultName, ObjectType, ObjectName, Version, NBF, EXP}`
//! (field names compared without regard to case: the SDKs write them in camelCase). `Id`
//! is the new version's key identifier, `https://{vault}/keys/{name}/{version}`: files
//! store the vault URL, so the vault is matched by `Id`'s `host[:port]`, not by
//! `VaultName` (which says nothing about the cloud or a private endpoint).

use super::key_id::{KeyId, KIND};
use crate::keysource::KeyEntry;
use crate::metadata::KeyGroup;
use serde_json::{Map, Value};

/// The event type of a key's new version.
pub const KEY_NEW_VERSION_CREATED: &str = "Microsoft.KeyVault.KeyNewVersionCreated";
/// The event type of Event Grid's subscription validation handshake (Event Grid schema).
pub const SUBSCRIPTION_VALIDATION: &str = "Microsoft.EventGrid.SubscriptionValidationEvent";
/// The most events one delivery may hold (Event Grid batches at most 5,000).
pub const MAX_EVENTS: usize = 5_000;

/// The schema an event came in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Schema {
    /// The Event Grid schema (`eventType`, `dataVersion`).
    EventGrid,
    /// CloudEvents 1.0 (`specversion`, `type`).
    CloudEvents,
}

/// One event of a delivery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// Event Grid's subscription validation: answer `{"validationResponse": code}`.
    Validation {
        /// The event's `id`.
        id: String,
        /// `data.validationCode`.
        code: String,
    },
    /// A key got a new version.
    KeyNewVersion(KeyRotation),
    /// Any other event type (a secret's or certificate's new version, expiry notices…):
    /// nothing to do.
    Other {
        /// The event's `id`.
        id: String,
        /// Its type.
        event_type: String,
    },
}

/// A key's new version: the `azure_kv` entries of the same key on another version are to
/// be re-wrapped with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyRotation {
    /// The event's `id` (for reports).
    pub event_id: String,
    /// The schema it came in.
    pub schema: Schema,
    /// `data.VaultName` (for reports).
    pub vault_name: String,
    /// The key, pinned to the new version (from `data.Id`).
    pub key: KeyId,
}

/// An entry a [`KeyRotation`] concerns: where it is and the version it is on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AffectedEntry {
    /// Index of the key group.
    pub group: usize,
    /// Index of the entry in its group.
    pub index: usize,
    /// The version the entry is pinned to (`None`: unpinned).
    pub version: Option<String>,
}

/// Why a delivery cannot be read. Messages quote field names, never whole bodies.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    /// The body is not JSON.
    #[error("the events are not JSON: {0}")]
    NotJson(String),
    /// The JSON is neither an event nor an array of events.
    #[error("expected an event or an array of events, got {0}")]
    NotEvents(&'static str),
    /// Too many events in one delivery.
    #[error("{0} events in one delivery (at most {MAX_EVENTS})")]
    TooMany(usize),
    /// An event lacks a field or has one of the wrong shape.
    #[error("event {position} ({id}): {problem}")]
    Invalid {
        /// 0-based position in the delivery.
        position: usize,
        /// The event's `id`, or `?`.
        id: String,
        /// What is wrong.
        problem: String,
    },
}

/// Reads a delivery in either schema (a single event or an array; an array may mix
/// schemas). An empty array is an empty delivery.
pub fn parse_events(body: &[u8]) -> Result<Vec<Event>, EventError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| EventError::NotJson(format!("line {} column {}", e.line(), e.column())))?;
    let items = match value {
        Value::Array(items) => items,
        Value::Object(_) => vec![value],
        Value::Null => return Err(EventError::NotEvents("null")),
        Value::Bool(_) => return Err(EventError::NotEvents("a boolean")),
        Value::Number(_) => return Err(EventError::NotEvents("a number")),
        Value::String(_) => return Err(EventError::NotEvents("a string")),
    };
    if items.len() > MAX_EVENTS {
        return Err(EventError::TooMany(items.len()));
    }
    items
        .iter()
        .enumerate()
        .map(|(position, item)| parse_event(item).map_err(|p| p.at(position, item)))
        .collect()
}

/// A problem with one event, before its position is known.
struct Problem(String);

impl Problem {
    fn at(self, position: usize, item: &Value) -> EventError {
        let id = item
            .get("id")
            .and_then(Value::as_str)
            .map(|s| s.chars().take(80).collect())
            .unwrap_or_else(|| "?".into());
        EventError::Invalid {
            position,
            id,
            problem: self.0,
        }
    }
}

fn parse_event(item: &Value) -> Result<Event, Problem> {
    let Some(object) = item.as_object() else {
        return Err(Problem("not a JSON object".into()));
    };
    let (schema, type_field) = if object.contains_key("specversion") {
        let version = string(object, "specversion")?;
        if version != "1.0" {
            return Err(Problem(format!(
                "CloudEvents specversion {version:?} (only 1.0 is read)"
            )));
        }
        (Schema::CloudEvents, "type")
    } else if object.contains_key("eventType") {
        (Schema::EventGrid, "eventType")
    } else {
        return Err(Problem(
            "neither an Event Grid event (eventType) nor a CloudEvent (specversion)".into(),
        ));
    };
    let id = string(object, "id")?.to_string();
    let event_type = string(object, type_field)?.to_string();
    let data = object.get("data");
    if event_type.eq_ignore_ascii_case(SUBSCRIPTION_VALIDATION) {
        let code = data
            .and_then(Value::as_object)
            .and_then(|d| field(d, "validationCode"))
            .and_then(Value::as_str)
            .filter(|c| !c.is_empty())
            .ok_or_else(|| Problem("a validation event without data.validationCode".into()))?;
        return Ok(Event::Validation {
            id,
            code: code.to_string(),
        });
    }
    if !event_type.eq_ignore_ascii_case(KEY_NEW_VERSION_CREATED) {
        return Ok(Event::Other { id, event_type });
    }
    let data = data
        .and_then(Value::as_object)
        .ok_or_else(|| Problem("no data object".into()))?;
    let key = rotation_key(data)?;
    let vault_name = field(data, "VaultName")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    Ok(Event::KeyNewVersion(KeyRotation {
        event_id: id,
        schema,
        vault_name,
        key,
    }))
}

/// The new version's key from `data`: `Id` must be a versioned key identifier, and
/// `ObjectType`, `ObjectName` and `Version`, when present, must agree with it.
fn rotation_key(data: &Map<String, Value>) -> Result<KeyId, Problem> {
    let text = |name: &str| field(data, name).and_then(Value::as_str);
    let id_text = text("Id").ok_or_else(|| Problem("data.Id is missing".into()))?;
    let key = KeyId::parse(id_text).map_err(|e| Problem(format!("data.Id: {}", e.reason)))?;
    let Some(version) = key.version.as_deref() else {
        return Err(Problem("data.Id names no key version".into()));
    };
    if let Some(kind) = text("ObjectType") {
        if !kind.eq_ignore_ascii_case("Key") {
            return Err(Problem(format!("data.ObjectType is {kind:?}, not Key")));
        }
    }
    if let Some(name) = text("ObjectName") {
        if !name.eq_ignore_ascii_case(&key.name) {
            return Err(Problem("data.ObjectName does not match data.Id".into()));
        }
    }
    if let Some(v) = text("Version") {
        if !v.eq_ignore_ascii_case(version) {
            return Err(Problem("data.Version does not match data.Id".into()));
        }
    }
    Ok(key)
}

/// A string field, required.
fn string<'v>(object: &'v Map<String, Value>, name: &str) -> Result<&'v str, Problem> {
    match object.get(name) {
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(Problem(format!("{name} is not a string"))),
        None => Err(Problem(format!("{name} is missing"))),
    }
}

/// A field of `data`, its name compared without regard to case.
fn field<'v>(object: &'v Map<String, Value>, name: &str) -> Option<&'v Value> {
    object.get(name).or_else(|| {
        object
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    })
}

/// The `host[:port]` of a vault URL, as compared: lower case, the default HTTPS port
/// dropped.
fn vault_host(id: &KeyId) -> String {
    let host = id.host();
    host.strip_suffix(":443")
        .map(str::to_string)
        .unwrap_or(host)
}

impl KeyRotation {
    /// The new version.
    pub fn version(&self) -> &str {
        self.key.version.as_deref().unwrap_or_default()
    }

    /// The same rotation with another target version (e.g. the key's current version,
    /// when this event is older than it: an out-of-order or replayed delivery must never
    /// move files back to an older version).
    pub fn retarget(&self, version: &str) -> Self {
        Self {
            key: self.key.with_version(version),
            ..self.clone()
        }
    }

    /// Whether `entry` is an `azure_kv` entry of this key (same vault host and port, same
    /// key name; Key Vault names are case-insensitive), whatever its version.
    pub fn names_key(&self, entry: &KeyEntry) -> bool {
        if entry.kind != KIND {
            return false;
        }
        let Ok(id) = KeyId::from_entry(entry) else {
            return false;
        };
        vault_host(&id) == vault_host(&self.key) && id.name.eq_ignore_ascii_case(&self.key.name)
    }

    /// Whether this rotation concerns `entry`: an entry of this key on any version other
    /// than the new one (so an entry already on it is left alone, which makes a replayed
    /// event a no-op).
    pub fn concerns(&self, entry: &KeyEntry) -> bool {
        self.names_key(entry)
            && !entry
                .get("version")
                .is_some_and(|v| v.trim().eq_ignore_ascii_case(self.version()))
    }

    /// The entries of `groups` this rotation concerns, in order.
    pub fn affected(&self, groups: &[KeyGroup]) -> Vec<AffectedEntry> {
        let mut out = Vec::new();
        for (g, group) in groups.iter().enumerate() {
            for (i, entry) in group.keys.iter().enumerate() {
                if self.concerns(entry) {
                    out.push(AffectedEntry {
                        group: g,
                        index: i,
                        version: entry
                            .get("version")
                            .map(str::trim)
                            .filter(|v| !v.is_empty())
                            .map(str::to_string),
                    });
                }
            }
        }
        out
    }

    /// The description (no `enc`, no `created_at`) `entry` is re-wrapped for: the same
    /// entry pinned to the new version, fields in their stored order.
    pub fn new_description(&self, entry: &KeyEntry) -> KeyEntry {
        let mut description = entry.description();
        description.set("version", self.version());
        description
    }
}

/// The `validationResponse` body that completes Event Grid's subscription validation.
pub fn validation_response(code: &str) -> String {
    serde_json::json!({ "validationResponse": code }).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const V1: &str = "0123456789abcdef0123456789abcdef";
    const V2: &str = "fedcba9876543210fedcba9876543210";

    fn event_grid(version: &str) -> String {
        format!(
            r#"[{{"id":"e-1","topic":"/subscriptions/s/resourceGroups/g/providers/Microsoft.KeyVault/vaults/app",
                 "subject":"sops","eventType":"Microsoft.KeyVault.KeyNewVersionCreated",
                 "eventTime":"2026-12-07T23:00:00Z",
                 "data":{{"Id":"https://app.vault.azure.net/keys/sops/{version}","VaultName":"app",
                          "ObjectType":"Key","ObjectName":"sops","Version":"{version}","NBF":null,"EXP":null}},
                 "dataVersion":"1","metadataVersion":"1"}}]"#
        )
    }

    fn cloud_event(version: &str) -> String {
        format!(
            r#"{{"specversion":"1.0","id":"c-1","source":"/subscriptions/s/resourceGroups/g/providers/Microsoft.KeyVault/vaults/app",
                "subject":"sops","type":"Microsoft.KeyVault.KeyNewVersionCreated","time":"2026-12-07T23:00:00Z",
                "data":{{"id":"https://app.vault.azure.net/keys/sops/{version}","vaultName":"app",
                         "objectType":"Key","objectName":"sops","version":"{version}"}}}}"#
        )
    }

    fn rotation(events: Vec<Event>) -> KeyRotation {
        match events.as_slice() {
            [Event::KeyNewVersion(r)] => r.clone(),
            other => panic!("expected one rotation, got {other:?}"),
        }
    }

    fn kv(vault: &str, name: &str, version: &str) -> KeyEntry {
        KeyEntry::new(KIND)
            .with("vault_url", vault)
            .with("name", name)
            .with("version", version)
            .with("created_at", "2026-01-01T00:00:00Z")
            .with("enc", "x")
    }

    #[test]
    fn reads_the_event_grid_schema() {
        let r = rotation(parse_events(event_grid(V2).as_bytes()).unwrap());
        assert_eq!(r.schema, Schema::EventGrid);
        assert_eq!(r.event_id, "e-1");
        assert_eq!(r.vault_name, "app");
        assert_eq!(
            r.key.to_string(),
            format!("https://app.vault.azure.net/keys/sops/{V2}")
        );
        assert_eq!(r.version(), V2);
    }

    #[test]
    fn reads_cloud_events_single_and_batch() {
        let single = rotation(parse_events(cloud_event(V2).as_bytes()).unwrap());
        assert_eq!(single.schema, Schema::CloudEvents);
        assert_eq!(single.event_id, "c-1");
        assert_eq!(single.version(), V2);
        let batch = format!("[{},{}]", cloud_event(V1), cloud_event(V2));
        let events = parse_events(batch.as_bytes()).unwrap();
        assert_eq!(events.len(), 2);
        assert!(matches!(&events[0], Event::KeyNewVersion(r) if r.version() == V1));
        assert_eq!(parse_events(b"[]").unwrap(), vec![]);
    }

    #[test]
    fn reads_the_validation_event_and_ignores_other_types() {
        let body = r#"[{"id":"v","topic":"t","subject":"","eventType":"Microsoft.EventGrid.SubscriptionValidationEvent",
            "eventTime":"2026-12-07T23:00:00Z","data":{"validationCode":"512d38b6-c7b8-40c8-89fe-f46f9e9622b6",
            "validationUrl":"https://rp-eastus2.eventgrid.azure.net/x"},"dataVersion":"2","metadataVersion":"1"},
            {"id":"s","subject":"x","eventType":"Microsoft.KeyVault.SecretNewVersionCreated","data":{}}]"#;
        let events = parse_events(body.as_bytes()).unwrap();
        assert_eq!(
            events[0],
            Event::Validation {
                id: "v".into(),
                code: "512d38b6-c7b8-40c8-89fe-f46f9e9622b6".into()
            }
        );
        assert_eq!(
            events[1],
            Event::Other {
                id: "s".into(),
                event_type: "Microsoft.KeyVault.SecretNewVersionCreated".into()
            }
        );
        assert_eq!(
            validation_response("abc"),
            r#"{"validationResponse":"abc"}"#
        );
    }

    #[test]
    fn refuses_malformed_and_inconsistent_events() {
        let bad = |body: &str| parse_events(body.as_bytes()).unwrap_err().to_string();
        assert!(bad("not json").contains("not JSON"));
        assert!(bad("42").contains("a number"));
        assert!(bad("[1]").contains("not a JSON object"));
        assert!(bad(r#"[{"id":"a"}]"#).contains("neither"));
        assert!(bad(r#"{"specversion":"0.3","id":"a","type":"t"}"#).contains("0.3"));
        assert!(bad(r#"[{"eventType":"x"}]"#).contains("id is missing"));
        let event = |data: &str| {
            format!(
                r#"[{{"id":"e","eventType":"Microsoft.KeyVault.KeyNewVersionCreated","data":{data}}}]"#
            )
        };
        assert!(bad(&event("{}")).contains("data.Id is missing"));
        assert!(bad(&event(r#"{"Id":"http://v/keys/k/1"}"#)).contains("only https://"));
        assert!(bad(&event(r#"{"Id":"https://v/keys/k"}"#)).contains("no key version"));
        assert!(bad(&event(
            r#"{"Id":"https://v/keys/k/1","ObjectType":"Secret"}"#
        ))
        .contains("ObjectType"));
        assert!(bad(&event(
            r#"{"Id":"https://v/keys/k/1","ObjectName":"other"}"#
        ))
        .contains("ObjectName does not match"));
        assert!(bad(&event(r#"{"Id":"https://v/keys/k/1","Version":"2"}"#))
            .contains("Version does not match"));
        let e = parse_events(
            r#"[{"id":"ok","eventType":"x"},{"id":"second","eventType":7}]"#.as_bytes(),
        )
        .unwrap_err();
        assert!(
            matches!(&e, EventError::Invalid { position: 1, id, .. } if id == "second"),
            "{e:?}"
        );
        let many = format!("[{}]", vec!["{}"; MAX_EVENTS + 1].join(","));
        assert_eq!(
            parse_events(many.as_bytes()).unwrap_err(),
            EventError::TooMany(MAX_EVENTS + 1)
        );
    }

    #[test]
    fn concerns_entries_of_the_same_vault_and_key_on_another_version() {
        let r = rotation(parse_events(event_grid(V2).as_bytes()).unwrap());
        let vault = "https://app.vault.azure.net";
        assert!(r.concerns(&kv(vault, "sops", V1)));
        assert!(r.concerns(&kv(vault, "sops", "")), "an unpinned entry");
        assert!(r.concerns(&kv("https://APP.vault.azure.net:443/", "SOPS", V1)));
        assert!(
            !r.concerns(&kv(vault, "sops", V2)),
            "already on the new one"
        );
        assert!(!r.concerns(&kv(vault, "sops", &V2.to_uppercase())));
        assert!(!r.concerns(&kv(vault, "other", V1)));
        assert!(!r.concerns(&kv("https://other.vault.azure.net", "sops", V1)));
        assert!(!r.concerns(&kv("https://app.vault.azure.net:8443", "sops", V1)));
        assert!(!r.concerns(&KeyEntry::new("age").with("recipient", "age1x")));
        assert!(!r.concerns(&KeyEntry::new(KIND).with("vault_url", "nonsense")));
    }

    #[test]
    fn finds_the_affected_entries_and_their_new_description() {
        let r = rotation(parse_events(cloud_event(V2).as_bytes()).unwrap());
        let vault = "https://app.vault.azure.net";
        let groups = vec![
            KeyGroup {
                keys: vec![
                    KeyEntry::new("age").with("recipient", "age1x"),
                    kv(vault, "sops", V1),
                ],
            },
            KeyGroup {
                keys: vec![kv(vault, "sops", V2), kv(vault, "other", V1)],
            },
            KeyGroup {
                keys: vec![kv(vault, "sops", "")],
            },
        ];
        assert_eq!(
            r.affected(&groups),
            vec![
                AffectedEntry {
                    group: 0,
                    index: 1,
                    version: Some(V1.into())
                },
                AffectedEntry {
                    group: 2,
                    index: 0,
                    version: None
                },
            ]
        );
        let description = r.new_description(&groups[0].keys[1]);
        let names: Vec<&str> = description.fields.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["vault_url", "name", "version"]);
        assert_eq!(description.get("version"), Some(V2));
        let back = r.retarget(V1);
        assert_eq!(back.version(), V1);
        assert_eq!(
            back.affected(&groups).len(),
            2,
            "the V2 and unpinned entries"
        );
    }
}
