use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

/// What a player holds of one item id. A stackable item is a count with shared properties;
/// a unique item is a list of instances, each with its own id and properties.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Item {
    pub id: String,
    #[serde(default)]
    pub unique: bool,
    pub quantity: u64,
    /// Properties of a stack (unique items keep theirs per instance).
    #[serde(default)]
    pub properties: Map<String, Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub instances: Vec<Instance>,
    /// Unix seconds.
    pub acquired_at: i64,
    pub updated_at: i64,
}

/// One copy of a unique item.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Instance {
    pub instance_id: Uuid,
    #[serde(default)]
    pub properties: Map<String, Value>,
    pub acquired_at: i64,
}

/// Items to give: `quantity` more of a stack, or `quantity` new instances of a unique item.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ItemGrant {
    pub id: String,
    pub quantity: u64,
    #[serde(default)]
    pub unique: bool,
    #[serde(default)]
    pub properties: Map<String, Value>,
}

/// Items to use up: `quantity` of a stack, or these instances (or the oldest `quantity`) of
/// a unique item.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ItemUse {
    pub id: String,
    #[serde(default)]
    pub quantity: u64,
    #[serde(default)]
    pub instance_ids: Vec<Uuid>,
}
