//! Inventory rules: what may be granted or consumed and what it leaves.

use uuid::Uuid;

use super::model::{Instance, Item, ItemGrant, ItemUse};
use super::InventoryError;
use crate::features::profiles::rules::check_name;

pub const MAX_STACK: u64 = 1_000_000_000;
pub const MAX_INSTANCES: usize = 1000;
pub const MAX_PROPERTIES_BYTES: usize = 4096;
pub const MAX_ITEMS_PER_CALL: usize = 50;

fn invalid(m: impl Into<String>) -> InventoryError {
    InventoryError::Invalid(m.into())
}

pub fn check_grant(g: &ItemGrant) -> Result<(), InventoryError> {
    check_name("items id", &g.id).map_err(|e| invalid(e.to_string()))?;
    if g.quantity == 0 {
        return Err(invalid(format!(
            "items quantity of {} must be at least 1",
            g.id
        )));
    }
    if g.unique && g.quantity > MAX_INSTANCES as u64 {
        return Err(invalid(format!(
            "items quantity of unique item {} must be at most {MAX_INSTANCES}",
            g.id
        )));
    }
    if g.quantity > MAX_STACK {
        return Err(invalid(format!(
            "items quantity of {} must be at most {MAX_STACK}",
            g.id
        )));
    }
    let bytes = serde_json::to_vec(&g.properties).unwrap_or_default().len();
    if bytes > MAX_PROPERTIES_BYTES {
        return Err(invalid(format!(
            "items properties of {} must be at most {MAX_PROPERTIES_BYTES} bytes of JSON",
            g.id
        )));
    }
    Ok(())
}

pub fn check_use(u: &ItemUse) -> Result<(), InventoryError> {
    check_name("items id", &u.id).map_err(|e| invalid(e.to_string()))?;
    if u.quantity == 0 && u.instance_ids.is_empty() {
        return Err(invalid(format!(
            "items quantity of {} must be at least 1 (or name instance_ids)",
            u.id
        )));
    }
    if u.quantity != 0 && !u.instance_ids.is_empty() {
        return Err(invalid(format!(
            "items {}: give quantity or instance_ids, not both",
            u.id
        )));
    }
    Ok(())
}

/// The item after a grant. `new_ids` gives the ids of new unique instances.
pub fn grant(
    held: Option<Item>,
    g: &ItemGrant,
    now: i64,
    mut new_id: impl FnMut() -> Uuid,
) -> Result<Item, InventoryError> {
    let mut item = held.unwrap_or_else(|| Item {
        id: g.id.clone(),
        unique: g.unique,
        quantity: 0,
        properties: Default::default(),
        instances: Vec::new(),
        acquired_at: now,
        updated_at: now,
    });
    if item.unique != g.unique {
        return Err(InventoryError::KindMismatch {
            id: g.id.clone(),
            unique: item.unique,
        });
    }
    if g.unique {
        if item.instances.len() + g.quantity as usize > MAX_INSTANCES {
            return Err(InventoryError::Full {
                id: g.id.clone(),
                max: MAX_INSTANCES as u64,
            });
        }
        for _ in 0..g.quantity {
            item.instances.push(Instance {
                instance_id: new_id(),
                properties: g.properties.clone(),
                acquired_at: now,
            });
        }
        item.quantity = item.instances.len() as u64;
    } else {
        let q = item.quantity + g.quantity;
        if q > MAX_STACK {
            return Err(InventoryError::Full {
                id: g.id.clone(),
                max: MAX_STACK,
            });
        }
        item.quantity = q;
        for (k, v) in &g.properties {
            item.properties.insert(k.clone(), v.clone());
        }
    }
    item.updated_at = now;
    Ok(item)
}

/// The item after a use (`None` when nothing is left), or why it is refused: never more
/// than is owned.
pub fn consume(held: Option<Item>, u: &ItemUse, now: i64) -> Result<Option<Item>, InventoryError> {
    let Some(mut item) = held else {
        return Err(InventoryError::NotEnough {
            id: u.id.clone(),
            owned: 0,
            asked: u.quantity.max(u.instance_ids.len() as u64),
        });
    };
    if !u.instance_ids.is_empty() {
        if !item.unique {
            return Err(invalid(format!(
                "items {}: instance_ids apply to unique items only",
                u.id
            )));
        }
        for id in &u.instance_ids {
            let at = item
                .instances
                .iter()
                .position(|i| i.instance_id == *id)
                .ok_or_else(|| InventoryError::NoInstance {
                    id: u.id.clone(),
                    instance: *id,
                })?;
            item.instances.remove(at);
        }
        item.quantity = item.instances.len() as u64;
    } else {
        if u.quantity > item.quantity {
            return Err(InventoryError::NotEnough {
                id: u.id.clone(),
                owned: item.quantity,
                asked: u.quantity,
            });
        }
        if item.unique {
            item.instances.drain(..u.quantity as usize);
            item.quantity = item.instances.len() as u64;
        } else {
            item.quantity -= u.quantity;
        }
    }
    item.updated_at = now;
    Ok((item.quantity > 0).then_some(item))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(id: &str, quantity: u64, unique: bool) -> ItemGrant {
        ItemGrant {
            id: id.into(),
            quantity,
            unique,
            properties: Default::default(),
        }
    }

    #[test]
    fn stacks_add_and_never_go_below_zero() {
        let it = grant(None, &g("potion", 3, false), 1, Uuid::new_v4).unwrap();
        let it = grant(Some(it), &g("potion", 2, false), 2, Uuid::new_v4).unwrap();
        assert_eq!(it.quantity, 5);
        let use5 = ItemUse {
            id: "potion".into(),
            quantity: 6,
            instance_ids: vec![],
        };
        assert!(matches!(
            consume(Some(it.clone()), &use5, 3),
            Err(InventoryError::NotEnough {
                owned: 5,
                asked: 6,
                ..
            })
        ));
        let all = ItemUse {
            quantity: 5,
            ..use5
        };
        assert_eq!(consume(Some(it), &all, 3).unwrap(), None);
    }

    #[test]
    fn unique_items_are_instances() {
        let it = grant(None, &g("sword", 2, true), 1, Uuid::new_v4).unwrap();
        assert_eq!(it.quantity, 2);
        assert_eq!(it.instances.len(), 2);
        let first = it.instances[0].instance_id;
        let left = consume(
            Some(it.clone()),
            &ItemUse {
                id: "sword".into(),
                quantity: 0,
                instance_ids: vec![first],
            },
            2,
        )
        .unwrap()
        .unwrap();
        assert_eq!(left.quantity, 1);
        assert!(left.instances.iter().all(|i| i.instance_id != first));
        assert!(matches!(
            grant(Some(it), &g("sword", 1, false), 3, Uuid::new_v4),
            Err(InventoryError::KindMismatch { .. })
        ));
    }

    #[test]
    fn bad_grants_name_the_field() {
        assert!(check_grant(&g("", 1, false))
            .unwrap_err()
            .to_string()
            .contains("id"));
        assert!(check_grant(&g("potion", 0, false))
            .unwrap_err()
            .to_string()
            .contains("quantity"));
    }
}
