//! Agents: every update is a new version that becomes the current one, and aliases
//! name versions so conversations can pin one.

use serde_json::{json, Map, Value};

use super::Record;
use crate::wire::ids;

/// The fields of a version, as creation and update requests name them.
pub const SETTINGS: &[&str] = &[
    "model",
    "name",
    "instructions",
    "tools",
    "completion_args",
    "guardrails",
    "description",
    "handoffs",
    "metadata",
    "version_message",
    "deployment_chat",
];

/// What a setting is when not given or given as null. Lists and objects are never
/// null, because the SDK's `Agent` schema does not allow it.
fn unset(field: &str) -> Value {
    match field {
        "tools" => json!([]),
        "completion_args" => json!({}),
        "deployment_chat" => json!(false),
        _ => Value::Null,
    }
}

/// Writes the settings found in `changes` over `settings`. A null clears a setting,
/// except `model` and `name`, which an agent always has.
fn apply(settings: &mut Map<String, Value>, changes: &Map<String, Value>) {
    for (k, v) in changes.iter().filter(|(k, _)| SETTINGS.contains(&k.as_str())) {
        match v {
            Value::Null if k == "model" || k == "name" => {}
            Value::Null => {
                settings.insert(k.clone(), unset(k));
            }
            _ => {
                settings.insert(k.clone(), v.clone());
            }
        }
    }
}

#[derive(Clone, Debug)]
pub struct Alias {
    pub alias: String,
    pub version: u64,
    pub created_at: String,
    pub updated_at: String,
}

impl Alias {
    pub fn to_json(&self) -> Value {
        json!({"alias": self.alias, "version": self.version, "created_at": self.created_at, "updated_at": self.updated_at})
    }
}

#[derive(Clone, Debug)]
pub struct Agent {
    pub id: String,
    pub created_at: String,
    pub updated_at: String,
    /// The version used when a request names none.
    pub current: u64,
    /// Each version's settings; a version number is an index here.
    versions: Vec<Map<String, Value>>,
    aliases: Vec<Alias>,
}

impl Record for Agent {
    fn id(&self) -> &str {
        &self.id
    }
}

impl Agent {
    /// Version 0, from a creation request's fields.
    pub fn new(id: String, fields: &Map<String, Value>) -> Agent {
        let mut settings = SETTINGS.iter().map(|f| ((*f).to_owned(), unset(f))).collect();
        apply(&mut settings, fields);
        let now = ids::now_rfc3339();
        Agent {
            id,
            created_at: now.clone(),
            updated_at: now,
            current: 0,
            versions: vec![settings],
            aliases: Vec::new(),
        }
    }

    /// A new version: the current one with `changes` written over it (its
    /// `version_message` is its own). It becomes current; returns its number.
    pub fn update(&mut self, changes: &Map<String, Value>) -> u64 {
        let mut settings = self.settings(self.current).clone();
        settings.insert("version_message".into(), Value::Null);
        apply(&mut settings, changes);
        self.versions.push(settings);
        self.current = self.versions.len() as u64 - 1;
        self.updated_at = ids::now_rfc3339();
        self.current
    }

    /// Makes `version` current; false if there is no such version.
    pub fn switch_to(&mut self, version: u64) -> bool {
        if version >= self.versions.len() as u64 {
            return false;
        }
        self.current = version;
        self.updated_at = ids::now_rfc3339();
        true
    }

    /// The settings of `version`, which must exist (see [`Agent::resolve`]).
    pub fn settings(&self, version: u64) -> &Map<String, Value> {
        &self.versions[version as usize]
    }

    /// A version given as a number or an alias, if it exists.
    pub fn resolve(&self, version: &str) -> Option<u64> {
        match version.parse::<u64>() {
            Ok(v) => (v < self.versions.len() as u64).then_some(v),
            Err(_) => self.aliases.iter().find(|a| a.alias == version).map(|a| a.version),
        }
    }

    /// Version numbers, newest first.
    pub fn versions(&self) -> impl Iterator<Item = u64> {
        (0..self.versions.len() as u64).rev()
    }

    /// `version` as the API shows an agent.
    pub fn to_json(&self, version: u64) -> Value {
        let mut v = self.settings(version).clone();
        let versions: Vec<u64> = (0..self.versions.len() as u64).collect();
        for (k, x) in [
            ("object", json!("agent")),
            ("id", json!(self.id)),
            ("version", json!(version)),
            ("versions", json!(versions)),
            ("created_at", json!(self.created_at)),
            ("updated_at", json!(self.updated_at)),
            ("source", json!("api")),
        ] {
            v.insert(k.to_owned(), x);
        }
        Value::Object(v)
    }

    pub fn aliases(&self) -> &[Alias] {
        &self.aliases
    }

    /// Points `alias` at `version` (which must exist), making the alias if new.
    pub fn set_alias(&mut self, alias: &str, version: u64) -> &Alias {
        let now = ids::now_rfc3339();
        let i = match self.aliases.iter().position(|a| a.alias == alias) {
            Some(i) => {
                self.aliases[i].version = version;
                self.aliases[i].updated_at = now;
                i
            }
            None => {
                let a = Alias { alias: alias.to_owned(), version, created_at: now.clone(), updated_at: now };
                self.aliases.push(a);
                self.aliases.len() - 1
            }
        };
        &self.aliases[i]
    }

    /// Whether there was such an alias.
    pub fn remove_alias(&mut self, alias: &str) -> bool {
        let before = self.aliases.len();
        self.aliases.retain(|a| a.alias != alias);
        self.aliases.len() != before
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn updates_make_current_versions_and_keep_the_old() {
        let mut a = Agent::new("ag_1".into(), &fields(json!({"model": "m", "name": "n", "version_message": "first"})));
        let first = a.to_json(0);
        assert_eq!(
            (&first["tools"], &first["completion_args"], &first["description"]),
            (&json!([]), &json!({}), &Value::Null)
        );
        assert_eq!(first["deployment_chat"], false);

        let v = a.update(&fields(json!({"description": "d", "name": null, "tools": null})));
        assert_eq!((v, a.current), (1, 1));
        let second = a.to_json(1);
        assert_eq!((&second["name"], &second["description"], &second["tools"]), (&json!("n"), &json!("d"), &json!([])));
        assert_eq!(second["version_message"], Value::Null);
        assert_eq!(second["versions"], json!([0, 1]));
        assert_eq!(a.to_json(0)["version_message"], "first");
        assert_eq!(a.versions().collect::<Vec<_>>(), [1, 0]);

        assert!(a.switch_to(0) && a.current == 0);
        assert!(!a.switch_to(2));
    }

    #[test]
    fn versions_resolve_by_number_or_alias() {
        let mut a = Agent::new("ag_1".into(), &fields(json!({"model": "m", "name": "n"})));
        a.update(&Map::new());
        assert_eq!(a.set_alias("prod", 0).version, 0);
        assert_eq!((a.resolve("0"), a.resolve("1"), a.resolve("2")), (Some(0), Some(1), None));
        assert_eq!((a.resolve("prod"), a.resolve("staging")), (Some(0), None));
        a.set_alias("prod", 1);
        assert_eq!((a.resolve("prod"), a.aliases().len()), (Some(1), 1));
        assert!(a.remove_alias("prod") && !a.remove_alias("prod"));
        assert_eq!(a.resolve("prod"), None);
    }
}
