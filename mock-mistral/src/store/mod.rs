//! In-memory state of the stateful APIs (conversations, agents).

pub mod agents;
pub mod conversations;

use serde_json::{Map, Value};

use self::agents::Agent;
use self::conversations::Conversation;

/// Everything the stateful endpoints keep between requests.
#[derive(Debug, Default)]
pub struct Stores {
    pub conversations: Table<Conversation>,
    pub agents: Table<Agent>,
}

/// Something a [`Table`] finds by id.
pub trait Record {
    fn id(&self) -> &str;
}

/// Records in the order they were made. A mock holds few, so a scan is fast enough
/// and keeps the newest-first order the list endpoints need.
#[derive(Debug)]
pub struct Table<T> {
    rows: Vec<T>,
}

impl<T> Default for Table<T> {
    fn default() -> Self {
        Table { rows: Vec::new() }
    }
}

impl<T: Record> Table<T> {
    pub fn insert(&mut self, row: T) {
        self.rows.push(row);
    }

    pub fn get(&self, id: &str) -> Option<&T> {
        self.rows.iter().find(|r| r.id() == id)
    }

    pub fn get_mut(&mut self, id: &str) -> Option<&mut T> {
        self.rows.iter_mut().find(|r| r.id() == id)
    }

    /// Whether there was such a record.
    pub fn remove(&mut self, id: &str) -> bool {
        let before = self.rows.len();
        self.rows.retain(|r| r.id() != id);
        self.rows.len() != before
    }

    /// Newest first, as the list endpoints return them.
    pub fn newest(&self) -> impl Iterator<Item = &T> {
        self.rows.iter().rev()
    }
}

/// Whether `metadata` holds every key and value of `filter`: the list endpoints'
/// `metadata` query.
pub fn has_metadata(metadata: &Value, filter: &Map<String, Value>) -> bool {
    filter.iter().all(|(k, v)| metadata.get(k) == Some(v))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    struct Row(&'static str);

    impl Record for Row {
        fn id(&self) -> &str {
            self.0
        }
    }

    #[test]
    fn tables_find_remove_and_list_newest_first() {
        let mut t = Table::default();
        for id in ["a", "b", "c"] {
            t.insert(Row(id));
        }
        assert_eq!(t.get("b").map(|r| r.0), Some("b"));
        assert!(t.remove("b"));
        assert!(!t.remove("b"));
        assert_eq!(t.newest().map(|r| r.0).collect::<Vec<_>>(), ["c", "a"]);
    }

    #[test]
    fn metadata_filters_need_every_pair() {
        let filter = json!({"team": "x", "n": 1});
        let filter = filter.as_object().unwrap();
        assert!(has_metadata(&json!({"team": "x", "n": 1, "more": true}), filter));
        assert!(!has_metadata(&json!({"team": "x"}), filter));
        assert!(!has_metadata(&Value::Null, filter));
        assert!(has_metadata(&Value::Null, &Map::new()));
    }
}
