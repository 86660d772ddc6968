//! The organization's API keys as the mock knows them: every well-formed key that has
//! called (or every key of `--keys`), and what was done to it: killed, deleted
//! (retired) or rotated.

use std::collections::{HashMap, HashSet};

use serde_json::{Value, json};
use uuid::Uuid;

use crate::auth::{KeyEnv, ParsedKey, api_key_id};

/// One key row.
#[derive(Debug, Clone)]
pub struct ApiKey {
    /// The row id, what whoami returns as `apiKeyId` and `/v1/api-keys/{keyId}` takes.
    pub id: Uuid,
    pub env: KeyEnv,
    /// The 16-character public key id, shown as the prefix.
    pub prefix: String,
    /// After a rotation, the whole key: only it authenticates from then on.
    pub current: Option<String>,
    pub kill_switch: bool,
    pub active: bool,
    pub created_at: String,
    pub revoked_at: Option<String>,
    pub rotated_at: Option<String>,
}

impl ApiKey {
    /// The `apiKey` object of the kill / delete / rotate answers.
    pub fn to_json(&self, org: Uuid) -> Value {
        let env = match self.env {
            KeyEnv::Live => "live",
            KeyEnv::Test => "test",
        };
        json!({
            "id": self.id.to_string(),
            "organizationId": org.to_string(),
            "name": format!("{env} key {}", self.prefix),
            "prefix": format!("lp_{env}_{}", self.prefix),
            "killSwitch": self.kill_switch,
            "isActive": self.active,
            "createdAt": self.created_at,
            "revokedAt": self.revoked_at,
            "rotatedAt": self.rotated_at,
        })
    }
}

/// What authentication finds for a presented key.
#[derive(Debug, PartialEq, Eq)]
pub enum KeyCheck {
    Valid(Uuid),
    /// A prefix rotated away, or an old secret of a rotated key: 401.
    Unknown,
    /// Killed or deleted: 503 `KILL_SWITCH`.
    Disabled,
}

#[derive(Default)]
pub struct ApiKeys {
    by_id: HashMap<Uuid, ApiKey>,
    /// Current prefix → row.
    by_prefix: HashMap<String, Uuid>,
    /// Prefixes that a rotation replaced.
    retired_prefixes: HashSet<String>,
}

impl ApiKeys {
    /// Check a presented key, registering a well-formed one seen for the first time.
    pub fn check(
        &mut self,
        parsed: &ParsedKey,
        whole: &str,
        now: impl FnOnce() -> String,
    ) -> KeyCheck {
        if self.retired_prefixes.contains(&parsed.key_id) {
            return KeyCheck::Unknown;
        }
        let id = match self.by_prefix.get(&parsed.key_id) {
            Some(id) => *id,
            None => {
                let id = api_key_id(&parsed.key_id);
                self.by_prefix.insert(parsed.key_id.clone(), id);
                self.by_id.insert(
                    id,
                    ApiKey {
                        id,
                        env: parsed.env,
                        prefix: parsed.key_id.clone(),
                        current: None,
                        kill_switch: false,
                        active: true,
                        created_at: now(),
                        revoked_at: None,
                        rotated_at: None,
                    },
                );
                id
            }
        };
        let Some(key) = self.by_id.get(&id) else {
            return KeyCheck::Unknown;
        };
        if key.current.as_deref().is_some_and(|c| c != whole) {
            return KeyCheck::Unknown;
        }
        if key.kill_switch || !key.active {
            return KeyCheck::Disabled;
        }
        KeyCheck::Valid(id)
    }

    /// Whether `whole` is a key this mock issued (by a rotation) and still current.
    pub fn issued(&self, whole: &str) -> bool {
        self.by_id
            .values()
            .any(|k| k.current.as_deref() == Some(whole))
    }

    /// Set the kill switch and deactivate; killing a killed key changes nothing.
    pub fn kill(&mut self, id: Uuid, now: &str) -> Option<&ApiKey> {
        let key = self.by_id.get_mut(&id)?;
        if !key.kill_switch {
            key.kill_switch = true;
            key.active = false;
            key.revoked_at.get_or_insert_with(|| now.to_string());
        }
        Some(key)
    }

    /// Retire: inactive, revoked, kill switch untouched.
    pub fn delete(&mut self, id: Uuid, now: &str) -> Option<&ApiKey> {
        let key = self.by_id.get_mut(&id)?;
        if key.active {
            key.active = false;
            key.revoked_at = Some(now.to_string());
        }
        Some(key)
    }

    /// Replace prefix and secret; clears the kill switch and re-activates. Returns the
    /// row and the whole new key.
    pub fn rotate(
        &mut self,
        id: Uuid,
        new_prefix: String,
        new_secret: &str,
        now: &str,
    ) -> Option<(&ApiKey, String)> {
        let key = self.by_id.get_mut(&id)?;
        let env = match key.env {
            KeyEnv::Live => "live",
            KeyEnv::Test => "test",
        };
        let whole = format!("lp_{env}_{new_prefix}_{new_secret}");
        self.by_prefix.remove(&key.prefix);
        self.retired_prefixes.insert(key.prefix.clone());
        self.by_prefix.insert(new_prefix.clone(), id);
        key.prefix = new_prefix;
        key.current = Some(whole.clone());
        key.kill_switch = false;
        key.active = true;
        key.revoked_at = None;
        key.rotated_at = Some(now.to_string());
        Some((key, whole))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::parse_key;

    const KEY: &str = "lp_test_01JMOCKDEM0KEY00_bW9jay1vbmx5LWRlbW8ta2V5LW5vdC1hLXNlY3JldDA";

    #[test]
    fn kill_delete_rotate() {
        let mut keys = ApiKeys::default();
        let parsed = parse_key(KEY).unwrap();
        let KeyCheck::Valid(id) = keys.check(&parsed, KEY, || "t0".to_string()) else {
            panic!("a new key authenticates");
        };
        assert_eq!(keys.kill(id, "t1").map(|k| k.kill_switch), Some(true));
        assert_eq!(
            keys.check(&parsed, KEY, || "t2".to_string()),
            KeyCheck::Disabled
        );
        let again = keys.kill(id, "t3").map(|k| k.revoked_at.clone());
        assert_eq!(
            again,
            Some(Some("t1".to_string())),
            "a second kill is a no-op"
        );
        let (_, new_key) = keys
            .rotate(id, "01NEWPREFIX00000".into(), "s".repeat(43).as_str(), "t4")
            .unwrap();
        assert_eq!(
            keys.check(&parsed, KEY, || "t5".to_string()),
            KeyCheck::Unknown
        );
        let new_parsed = parse_key(&new_key).unwrap();
        assert_eq!(
            keys.check(&new_parsed, &new_key, || "t6".to_string()),
            KeyCheck::Valid(id)
        );
        let other_secret = new_key.replace(&"s".repeat(43), &"x".repeat(43));
        assert_eq!(
            keys.check(&new_parsed, &other_secret, || "t7".to_string()),
            KeyCheck::Unknown
        );
        assert_eq!(keys.delete(id, "t8").map(|k| k.kill_switch), Some(false));
        assert_eq!(
            keys.check(&new_parsed, &new_key, || "t9".to_string()),
            KeyCheck::Disabled
        );
        assert!(keys.kill(Uuid::nil(), "t").is_none());
    }
}
