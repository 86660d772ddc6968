//! What a template can see: `env`, `vars`, `webhook`, command-line vars, the
//! scenario's vars and every value captured so far.

use std::sync::Arc;

use indexmap::IndexMap;
use minijinja::Value;
use minijinja::value::{Enumerator, Object, ObjectRepr};

/// The names visible to a scenario's templates. Lookups go, first to last:
/// include parameters, captures, `--var`, the scenario's vars.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// The process environment, as `env.NAME`.
    pub env: Value,
    /// `--var NAME=VALUE`, shared by every scenario of the run.
    pub cli_vars: Arc<IndexMap<String, Value>>,
    pub vars: IndexMap<String, Value>,
    pub captures: IndexMap<String, Value>,
    /// `with:` values of the include a step came from.
    pub params: IndexMap<String, Value>,
    /// `webhook.url`, the run's receiver for this scenario.
    pub webhook: Value,
}

/// Names a template may use that are not variables.
pub const RESERVED: [&str; 3] = ["env", "vars", "webhook"];

impl Scope {
    pub fn lookup(&self, key: &str) -> Option<Value> {
        match key {
            "env" => return Some(self.env.clone()),
            "vars" => return Some(crate::template::to_value(&self.vars)),
            "webhook" if !self.webhook.is_undefined() => return Some(self.webhook.clone()),
            _ => {}
        }
        self.params
            .get(key)
            .or_else(|| self.captures.get(key))
            .or_else(|| self.cli_vars.get(key))
            .or_else(|| self.vars.get(key))
            .cloned()
    }

    /// The scope as a minijinja value for rendering.
    pub fn to_value(self: &Arc<Self>) -> Value {
        Value::from_dyn_object(self.clone())
    }
}

impl Object for Scope {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        key.as_str().and_then(|k| self.lookup(k))
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        let mut keys: Vec<Value> = RESERVED.iter().map(|k| Value::from(*k)).collect();
        for map in [&self.params, &self.captures, &*self.cli_vars, &self.vars] {
            keys.extend(map.keys().map(|k| Value::from(k.as_str())));
        }
        Enumerator::Values(keys)
    }
}
