use serde::{Deserialize, Serialize};

use crate::features::inventory::{Item, ItemGrant};
use crate::features::wallet::Amounts;

/// The one reward shape every feature pays out with.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Reward {
    /// Currency → amount to add (positive).
    #[serde(default)]
    pub currencies: Amounts,
    #[serde(default)]
    pub items: Vec<ItemGrant>,
    #[serde(default)]
    pub xp: u64,
    #[serde(default)]
    pub badge: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
}

/// What a grant did.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Granted {
    /// Currencies added.
    pub currencies: Amounts,
    /// The wallet after the grant (empty when no currency was granted).
    pub wallet: Amounts,
    /// Each granted item as it now is.
    pub items: Vec<Item>,
    pub xp: u64,
    pub level: u32,
    pub levels_gained: u32,
    /// The badge and title, when they were new to the player.
    pub badge: Option<String>,
    pub title: Option<String>,
}
